"""From columns to candidate terms: type inference, the term plan and design batches."""
