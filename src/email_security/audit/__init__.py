"""The audit log: one record per change to a settings entry, written in the change's own
transaction (`records`), read and reverted over the API (`routes`, `revert`)."""
