"""Shop: catalog, purchases, limited packages, promo codes and payments."""
