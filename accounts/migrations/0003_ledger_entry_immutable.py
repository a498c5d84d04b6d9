from django.db import migrations

FORBID = """
CREATE FUNCTION accounts_ledger_entry_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_ledger_entry_immutable
    BEFORE UPDATE OR DELETE ON accounts_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION accounts_ledger_entry_immutable();
"""

ALLOW = """
DROP TRIGGER IF EXISTS accounts_ledger_entry_immutable ON accounts_ledgerentry;
DROP FUNCTION IF EXISTS accounts_ledger_entry_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_wallet_ledger_audit")]

    operations = [migrations.RunSQL(FORBID, ALLOW)]
