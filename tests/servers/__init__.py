"""Real protocol servers started on 127.0.0.1 by session fixtures (one module per server)."""
