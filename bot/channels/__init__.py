"""Channel adapters: thin translations between a platform and the core."""
