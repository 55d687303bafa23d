"""Service layer of the control plane: the logic behind each API resource."""
