"""Documents: PDF rendering in the realm's theme, invoices and receipts, e-invoices."""
