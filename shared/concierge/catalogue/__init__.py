"""Shopping help (docs/shopping.md): catalogue search over the merchant's products with structured filters, on both
index kinds (`embedded`, `opensearch`), the merchant's promotions, scenario carts built from a goal and its
constraints, and personal recommendations from what a customer viewed, bought and returned, each with its reason
(`recommend`, `views`, `related`).

`policy` (merchant.json's delivery, promotions and storefront links) is imported by the store's models; the rest is
imported by the functions that use it (retrieval searches, the actions function builds carts).
"""
