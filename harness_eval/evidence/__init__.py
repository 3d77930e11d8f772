"""Evidence: where ground-truth artifacts ended up, found by content however they were disguised."""
