-- The ledger: every movement of a user's quota (credited) or used_quota (spent) is an entry, in
-- the same transaction as the movement, so that for every user the entries add up to the two
-- columns (balance = quota - used_quota). Apps spend within a limit the user set at consent
-- (issue #19).
--
-- kind: opening (what an account held when the ledger began), signup (the new-user quota),
-- topup (a redeemed code), admin (an admin's edit), charge (an app spent), refund (an app gave
-- back part of a charge). Actor: the user or admin (actor_user_id, no foreign key: the record
-- outlives an admin's account), or the app (client) and its grant (family_id: token families are
-- purged, the entry stays). A charge or refund keeps its answer (quota_after, used_after,
-- remaining_limit) and the SHA-256 of its request, so that a retry with the same idempotency key
-- gets the first answer and another body is told apart.
CREATE TABLE ledger (
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind             TEXT    NOT NULL CHECK (kind IN ('opening', 'signup', 'topup', 'admin', 'charge', 'refund')),
    quota_delta      BIGINT  NOT NULL DEFAULT 0,
    used_delta       BIGINT  NOT NULL DEFAULT 0,
    actor_user_id    BIGINT,
    client           BIGINT  REFERENCES clients (id) ON DELETE SET NULL,
    family_id        BIGINT,
    description      TEXT    NOT NULL DEFAULT '',
    idempotency_key  TEXT,
    request_hash     BYTEA,
    refund_of        BIGINT  REFERENCES ledger (id) ON DELETE CASCADE,
    quota_after      BIGINT  NOT NULL,
    used_after       BIGINT  NOT NULL,
    remaining_limit  BIGINT,
    created_at       BIGINT  NOT NULL
);
CREATE INDEX ledger_user ON ledger (user_id, id);
CREATE UNIQUE INDEX ledger_idempotency ON ledger (client, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX ledger_spending ON ledger (user_id, client, created_at)
    WHERE kind IN ('charge', 'refund');
CREATE INDEX ledger_refunds ON ledger (refund_of) WHERE refund_of IS NOT NULL;

INSERT INTO ledger (user_id, kind, quota_delta, used_delta, description, quota_after, used_after,
                    created_at)
SELECT id, 'opening', quota, used_quota, '', quota, used_quota, CAST(extract(epoch FROM now()) AS BIGINT)
FROM users ORDER BY id;

-- The limit a user set for an app that may spend: an amount of quota per period (day or month,
-- UTC calendar windows, or in total since the consent).
ALTER TABLE consents ADD COLUMN spend_limit BIGINT;
ALTER TABLE consents ADD COLUMN spend_period TEXT CHECK (spend_period IN ('day', 'month', 'total'));

-- may_spend: an admin allowed the app to ask for balance:spend. billing_service: the platform's
-- own gateway, which charges any user by id with client credentials, without a per-user limit.
ALTER TABLE clients ADD COLUMN may_spend BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN billing_service BOOLEAN NOT NULL DEFAULT FALSE;
