"""HTTP routers of the control plane (parse and authorise; the services do the work)."""
