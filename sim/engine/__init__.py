"""One replica's SimPy world, no money and no files: the model (deployments, reservations,
arrivals, outages), schedulers and their policies, the fleet's free-capacity index, workloads,
delivery delays, and the flat records it returns (`RunResult`, job tiers); and GPU-sharing
nodes (CPU, memory, shares of GPUs) with their placement rules as array math.

May import: `sim.config`, `sim.inputs`, `sim.errors`, `sim.rng`, `sim.metrics`, `kernels`."""
