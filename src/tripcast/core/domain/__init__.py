"""Domain model: value objects and rules that hold whatever the infrastructure."""
