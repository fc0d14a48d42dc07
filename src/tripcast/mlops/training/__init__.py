"""Model trainers and the metrics that judge them."""
