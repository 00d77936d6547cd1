"""The local runtime (`make dev`): moto for AWS, the deployed state-machine definition executed in-process,
EventBridge rules delivering to SQS with a poller invoking the subscribed functions, and the HTTP API.
Not shipped in the Lambda layer."""
