from prometheus_client import Counter

from casinoclub.stored_gauges import StoredGauge

ledger_entries_total = Counter(
    "ledger_entries_total", "Ledger entries committed, by reason.", ["reason"]
)

auth_login_locked_total = Counter(
    "auth_login_locked_total", "Login attempts refused because the account is locked."
)

ledger_violations = StoredGauge(
    "ledger_violations",
    "Wallets whose balance is negative or differs from their ledger sum (beat: check_ledger).",
    max_age_seconds=60 * 60,
)
