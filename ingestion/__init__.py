"""Loading landing files (statistical releases, SOE submissions) into the raw and audit schemas."""
