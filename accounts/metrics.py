from prometheus_client import Counter

ledger_entries_total = Counter(
    "ledger_entries_total", "Ledger entries committed, by reason.", ["reason"]
)

auth_login_locked_total = Counter(
    "auth_login_locked_total", "Login attempts refused because the account is locked."
)
