"""A gradient flow of W1: move one image onto another by descending the distance.

The moving image is a softmax of free parameters (so it keeps unit mass and
every step is a balanced problem); each step solves the transport problem
once, started from the previous step's solution (init=), and the gradient
is the solve's dual potential (omtcore.torch).

    python examples/gradient_flow.py --size 48 --steps 100 --plot flow.png
"""

import argparse
import time

import numpy as np
import torch

import omtcore.torch as ot1


def blob(size, centre, radius):
    y, x = np.mgrid[:size, :size] / size
    return np.exp(-((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / (2 * radius ** 2))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.3)
    parser.add_argument("--plot", help="save the start, middle and end of the flow to this PNG")
    args = parser.parse_args(argv)

    n = args.size
    source = blob(n, (0.3, 0.3), 0.08)
    target = blob(n, (0.7, 0.65), 0.12) + 0.5 * blob(n, (0.25, 0.75), 0.06)
    target = torch.tensor(target / target.sum())
    logits = torch.tensor(np.log(source / source.sum() + 1e-9), requires_grad=True)
    optimiser = torch.optim.Adam([logits], lr=args.lr)
    frames, start, previous, iterations = [], time.perf_counter(), None, 0
    for step in range(args.steps + 1):
        image = torch.softmax(logits.ravel(), 0).reshape(n, n)
        value, previous = ot1.scalar_omt(image, target, h=1 / n, tol=1e-4, init=previous, return_result=True)
        iterations += previous.iterations
        if step in (0, args.steps // 2, args.steps):
            frames.append((step, image.detach().numpy(), value.item()))
        if step % 10 == 0:
            print(f"step {step:4d}  W1 = {value.item():.5f}")
        if step == args.steps:
            break
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
    print(f"{args.steps} steps in {time.perf_counter() - start:.2f} s ({iterations} iterations); "
          f"W1 {frames[0][2]:.5f} -> {frames[-1][2]:.5f}")

    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(frames) + 1, figsize=(3 * (len(frames) + 1), 3))
        for ax, (step, image, value) in zip(axes, frames):
            ax.imshow(image, cmap="magma")
            ax.set_title(f"step {step}: W1 {value:.4f}")
        axes[-1].imshow(target.numpy(), cmap="magma")
        axes[-1].set_title("target")
        for ax in axes:
            ax.set_axis_off()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=80)
        print(f"saved {args.plot}")
    return frames


if __name__ == "__main__":
    main()
