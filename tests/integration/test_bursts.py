"""No lost message: bursts of concurrent messages on the same conversations. A message may be refused (409: the
customer's page sends it again), but whatever was answered 200 is stored, with the reply the customer received."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings

CONVERSATIONS = 12
BURST = 5


def test_bursts_of_concurrent_messages_lose_nothing_that_was_answered(client):
    customers = ["alex", "sam"]
    jobs = [
        (customers[c % 2], f"burst-{c}", f"Do you ship to Canada? (message {m} of conversation {c})")
        for c in range(CONVERSATIONS)
        for m in range(BURST)
    ]
    with ThreadPoolExecutor(max_workers=CONVERSATIONS) as pool:
        answers = list(pool.map(lambda job: (job, client.say(*job)), jobs))
    assert {a.status for _, a in answers} <= {200, 409}, Counter(a.status for _, a in answers)
    refused = [a for _, a in answers if a.status == 409]
    assert all(a.headers.get("Retry-After") == "1" for a in refused), "a refused message says when to send it again"
    answered = [(job, a) for job, a in answers if a.status == 200]
    assert len(answered) >= CONVERSATIONS, "every conversation answered at least its first message"
    memory = wiring.memory_store(current_settings(IngestSettings))
    for c in range(CONVERSATIONS):
        transcript = memory.transcript(f"burst-{c}")
        said = [m["text"] for m in transcript if m["role"] == "customer"]
        replies = [m["text"] for m in transcript if m["role"] == "assistant"]
        mine = [(job, a) for job, a in answered if job[1] == f"burst-{c}"]
        assert all(job[2] in said for job, _ in mine), f"an answered message is missing from burst-{c}"
        assert Counter(replies) == Counter(a.text for _, a in mine), (
            f"a reply the customer got is missing from burst-{c}"
        )
        assert len(said) == len(mine) and len(replies) == len(mine)  # and a refused message left nothing behind


def test_a_refused_message_sent_again_after_retry_after_is_answered(client):
    """What the chat page does with a 409: wait Retry-After seconds and send the same message again. Every message
    of the burst is then answered, once."""

    def say_until_answered(job: tuple[str, str, str]):
        for _ in range(10):
            answer = client.say(*job)
            if answer.status != 409 or "Retry-After" not in answer.headers:
                return answer
            time.sleep(float(answer.headers["Retry-After"]))
        return answer

    jobs = [("sam", f"resend-{c}", f"Do you ship to Canada? ({m}/{c})") for c in range(4) for m in range(BURST)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(say_until_answered, jobs))
    assert [a.status for a in answers] == [200] * len(jobs)
    memory = wiring.memory_store(current_settings(IngestSettings))
    for c in range(4):
        said = [m["text"] for m in memory.transcript(f"resend-{c}") if m["role"] == "customer"]
        assert sorted(said) == sorted(job[2] for job in jobs if job[1] == f"resend-{c}")
