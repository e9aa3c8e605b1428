"""The objectives' tests use the models' real masked batches."""

from tests.models.conftest import batches  # noqa: F401  (a fixture)
