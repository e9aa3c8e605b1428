"""Building blocks: activations, the shared embeddings, and the generator / discriminator heads."""
