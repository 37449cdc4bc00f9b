"""A small demo run: an Erdős–Rényi network of 20,000 agents, printed as a summary."""

from diffusion import Network, Params, simulate


def main() -> None:
    """Run the demo scenario and print what happened."""
    network = Network.erdos_renyi(20_000, mean_degree=8, seed=1)
    params = Params(beta=0.05, gamma=0.2, delta=0.01)
    result = simulate(network, params, seeds=10, rng=12345)
    print(f"network: {network.n_nodes} agents, {network.n_edges} trust ties")
    for name, value in result.summary().items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        print(f"  {name:>20}: {shown}")


if __name__ == "__main__":
    main()
