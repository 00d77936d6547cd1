"""The merchant's store: the import format and commerce domain, the commerce backend port, the merchant's policy
(merchant.json), the store folder and its importer, and the demo store generator."""
