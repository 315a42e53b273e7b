"""Budget pools, delegations, allocations, spend requests, approvals and the ledger."""
