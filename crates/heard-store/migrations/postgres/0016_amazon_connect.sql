-- An organization's mapping for its Amazon Connect contact records (heard_channels::amazon_connect::Mapping, as
-- JSON): which contact attributes carry a case number, a customer id and a disposition, and which service and
-- touchpoint each queue serves. Edited through PUT /api/v1/amazon-connect/mapping; one row per organization.
CREATE TABLE amazon_connect_mappings (
    org_id UUID NOT NULL PRIMARY KEY REFERENCES organizations(id),
    mapping TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
