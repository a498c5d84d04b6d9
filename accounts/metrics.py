from prometheus_client import Counter

auth_login_locked_total = Counter(
    "auth_login_locked_total", "Login attempts refused because the account is locked."
)
