"""The web view for leaders: pages and a JSON API under `/app/` on the shared aiohttp server."""
