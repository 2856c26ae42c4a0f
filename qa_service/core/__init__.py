"""What every stage shares: settings, the offline set-up, the embedder and the chunk store."""
