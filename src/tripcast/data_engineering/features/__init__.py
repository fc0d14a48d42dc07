"""Feature engineering: turning valid trips and trip requests into model inputs."""
