"""The admin page's backend: what runs and what failed (/admin, GET /api/v1/admin/overview)."""
