"""``make bench``: the service's items per second, side by side with what bounds them."""
