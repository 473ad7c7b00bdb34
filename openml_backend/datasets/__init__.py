"""Dataset statistics: GET /api/v1/datasets/<id>/stats, its OpenML source and its shared cache."""
