"""What every resource shares: storage, envelope, errors, listing, batch, auth."""
