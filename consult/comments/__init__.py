"""What participants say: comments, replies and annotations, and their re-anchoring."""
