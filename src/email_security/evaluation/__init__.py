"""The evaluate endpoint and command: the engine fed from an account's stored settings."""
