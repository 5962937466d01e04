"""What happens to entries over time, in the background of every serving process: expired
entries are swept (`expiry`) and the hits applied mail made are counted (`hits`)."""
