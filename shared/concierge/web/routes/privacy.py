"""Customer data rights (docs/memory.md, Privacy rights): export, erasure and consent, asked by the customer
themselves or, under /v1/operator/..., by a signed-in operator on their behalf; merges and unmerges (operators)."""

from __future__ import annotations

from concierge.catalogue.views import ViewsCleared
from concierge.memory.privacy import (
    ALREADY_MERGED,
    BOTH_MUST_EXIST,
    MERGE_INTO_ITSELF,
    NO_DATA,
    NOT_MERGED,
    CustomerExport,
    ErasureReceipt,
    MergeReceipt,
    MergeRequest,
    Preferences,
    PreferencesOut,
    UnmergeReceipt,
    erase,
    export,
    merge,
    set_preferences,
    unmerge,
)
from concierge.platform.clock import now
from concierge.web.routes.common import (
    API_KEY,
    CUSTOMER_TOKEN,
    INVALID_BODY,
    NO_ROUTE,
    OPERATOR_TOKEN,
    OWN_DATA_ONLY,
    TOO_LARGE,
    PathId,
    area_router,
    errors,
    ok,
    operator,
    own_data,
    quote,
    services,
)

router = area_router()

CUSTOMER_403 = f"{API_KEY} Or a customer asking for someone else's data: {quote(OWN_DATA_ONLY)}"
NOT_HELD = quote(NO_DATA)


@router.get(
    "/v1/customers/<customer_id>/data",
    operation_id="exportCustomerData",
    summary="Export everything held about a customer (JSON).",
    responses=errors(ok("Everything held about the customer."), e401=CUSTOMER_TOKEN, e403=CUSTOMER_403, e404=NOT_HELD),
)
def export_data(customer_id: PathId) -> CustomerExport:
    context = services()
    own_data(customer_id, context)
    return export(customer_id, context.privacy, now(), context.merchant_profile())


@router.delete(
    "/v1/customers/<customer_id>",
    operation_id="eraseCustomer",
    summary="Erase a customer's data everywhere.",
    responses=errors(
        ok("The customer's data was erased; the receipt holds counts only."),
        e401=CUSTOMER_TOKEN,
        e403=CUSTOMER_403,
        e404=NOT_HELD,
    ),
)
def erase_data(customer_id: PathId) -> ErasureReceipt:
    context = services()
    own_data(customer_id, context)
    return erase(customer_id, context.privacy, now())


# the same two rights, asked of the support team (by email, by phone): an operator acts for the customer
@router.get(
    "/v1/operator/customers/<customer_id>/data",
    operation_id="exportCustomerDataForOperator",
    summary="Operator: export everything held about a customer, at their request (audited).",
    responses=errors(
        ok("Everything held about the customer; the export is recorded in the customer's audit trail."),
        e401=OPERATOR_TOKEN,
        e404=NOT_HELD,
    ),
)
def export_data_for_operator(customer_id: PathId) -> CustomerExport:
    signed_in = operator("Exporting a customer's data")
    services().privacy.memory.audit(customer_id, "data.exported", {"operator": signed_in.id})
    return export(customer_id, services().privacy, now(), services().merchant_profile())


@router.delete(
    "/v1/operator/customers/<customer_id>",
    operation_id="eraseCustomerForOperator",
    summary="Operator: erase a customer's data everywhere, at their request (audited).",
    responses=errors(
        ok("The customer's data was erased; customer.erased names the operator who asked."),
        e401=OPERATOR_TOKEN,
        e404=NOT_HELD,
    ),
)
def erase_data_for_operator(customer_id: PathId) -> ErasureReceipt:
    signed_in = operator("Erasing a customer's data")
    return erase(customer_id, services().privacy, now(), requested_by=signed_in.audit_name)


@router.put(
    "/v1/customers/<customer_id>/preferences",
    operation_id="setCustomerPreferences",
    summary="Set consent (personalization).",
    responses=errors(
        ok("The consent now in force. Opting out of personalization also forgets the facts and summaries held."),
        e400=INVALID_BODY,
        e401=CUSTOMER_TOKEN,
        e403=CUSTOMER_403,
        e404=NO_ROUTE,  # consent needs no prior data: only a path no route takes
        e413=TOO_LARGE,
    ),
)
def preferences(customer_id: PathId, preferences: Preferences) -> PreferencesOut:
    context = services()
    own_data(customer_id, context)
    return set_preferences(customer_id, preferences, context.privacy)


@router.delete(
    "/v1/customers/<customer_id>/product-views",
    operation_id="clearProductViews",
    summary="Forget the product pages the customer viewed: recommendations no longer read them (docs/shopping.md).",
    responses=errors(
        ok("The views were deleted (how many; none is fine), and the customer's audit trail says so."),
        e401=CUSTOMER_TOKEN,
        e403=CUSTOMER_403,
        e404=NO_ROUTE,  # nothing need be held: only a path no route takes
    ),
)
def clear_product_views(customer_id: PathId) -> ViewsCleared:
    from concierge.catalogue.views import clear

    context = services()
    own_data(customer_id, context)
    return clear(customer_id, context.privacy.memory)


@router.post(
    "/v1/customers/<customer_id>/merges",
    operation_id="mergeCustomers",
    summary="Operator: merge another customer into this one.",
    responses=errors(
        ok("The source customer was merged into this one (both get an audit entry naming the operator)."),
        e400=f"{INVALID_BODY} Or {quote(MERGE_INTO_ITSELF)}",
        e401=OPERATOR_TOKEN,
        e404=quote(BOTH_MUST_EXIST),
        e409=f"The source is already merged: {quote(ALREADY_MERGED)}",
        e413=TOO_LARGE,
    ),
)
def merge_customers(customer_id: PathId, request: MergeRequest) -> MergeReceipt:
    signed_in = operator("Merging customers")
    return merge(customer_id, request, signed_in.id, services().privacy)


@router.delete(
    "/v1/customers/<customer_id>/merges/<source_customer_id>",
    operation_id="unmergeCustomers",
    summary="Operator: undo a merge.",
    responses=errors(
        ok("The merge was undone: what it copied is removed, its identities given back."),
        e401=OPERATOR_TOKEN,
        e404=quote(NOT_MERGED),
    ),
)
def unmerge_customers(customer_id: PathId, source_customer_id: PathId) -> UnmergeReceipt:
    signed_in = operator("Undoing a merge")
    return unmerge(customer_id, source_customer_id, signed_in.id, services().privacy)
