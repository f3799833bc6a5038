"""omtcore.plot: RGB inputs in colour, Bloch vectors for qubits, tensor
ellipses for larger matrices, the exchange panel, the bracket in the title."""

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="plots need matplotlib (pip install 'omtcore[plot]')")
from PIL import Image  # noqa: E402

import omtcore  # noqa: E402
from omtcore.plot import draw_bloch, draw_tensors, plot_result, rgb  # noqa: E402


def coloured_pixels(path):
    """Pixels whose red and green differ a lot: there only if something is drawn in colour."""
    with Image.open(path) as img:
        px = np.asarray(img.convert("RGB")).astype(int)
    return int(np.sum(np.abs(px[..., 0] - px[..., 1]) > 120))


def test_rgb_inputs_are_drawn_in_colour_with_the_exchange(tmp_path):
    n = 16
    a = np.zeros((n, n, 3)) + 0.01
    b = np.zeros((n, n, 3)) + 0.01
    a[3:7, 3:7, 0] = 1  # a red square ...
    b[9:13, 9:13, 1] = 1  # ... that turns green and moves
    res = omtcore.vector_omt(a, b, alpha=0.5)
    plot_result(tmp_path / "rgb.png", a, b, res, "vector")
    grey = np.repeat(a.sum(-1, keepdims=True), 3, axis=-1)
    plot_result(tmp_path / "grey.png", grey, np.repeat(b.sum(-1, keepdims=True), 3, axis=-1),
                omtcore.vector_omt(grey, np.repeat(b.sum(-1, keepdims=True), 3, axis=-1), alpha=0.5),
                "vector")
    with Image.open(tmp_path / "rgb.png") as img:
        assert img.size == (1500, 900)  # 2 x 3 panels: inputs, flux, exchange, potential
    # The red and green squares add strongly coloured pixels beyond what the
    # colour maps of the other panels draw for a grey input.
    assert coloured_pixels(tmp_path / "rgb.png") > coloured_pixels(tmp_path / "grey.png") + 500
    np.testing.assert_array_equal(rgb(np.array([[[2.0, 1.0, 0.0]]])), [[[1.0, 0.5, 0.0]]])


@pytest.mark.parametrize("k", [2, 3])
def test_matrix_fields_are_drawn_as_bloch_vectors_or_tensor_ellipses(tmp_path, k):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 6, 7, k, k)) + 1j * rng.standard_normal((2, 6, 7, k, k))
    A, B = X @ np.swapaxes(X.conj(), -1, -2)
    B *= np.trace(A, axis1=-2, axis2=-1).real.sum() / np.trace(B, axis1=-2, axis2=-1).real.sum()
    res = omtcore.matrix_omt(A, B)
    plot_result(tmp_path / "m.png", A, B, res, "matrix")
    with Image.open(tmp_path / "m.png") as img:
        assert img.format == "PNG" and img.size == (1500, 900)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    artist = draw_bloch(ax, A[..., :2, :2]) if k == 2 else draw_tensors(ax, A)
    assert len(artist.get_array()) == 6 * 7  # one glyph per cell
    plt.close(fig)


def test_bloch_vectors_of_pure_states_are_unit_length():
    import matplotlib.pyplot as plt

    up = np.array([[1, 0], [0, 0]], complex)  # |0><0|: Bloch vector (0, 0, 1)
    plus = np.array([[0.5, 0.5], [0.5, 0.5]], complex)  # |+><+|: (1, 0, 0)
    fig, ax = plt.subplots()
    q = draw_bloch(ax, np.array([[up, plus]]))
    np.testing.assert_allclose(q.U, [0, 1], atol=1e-12)
    np.testing.assert_allclose(q.get_array(), [1, 0], atol=1e-12)
    plt.close(fig)


def test_grids_that_are_not_2d_are_invalid_input_errors(tmp_path):
    a = np.ones((4, 4, 4))
    res = omtcore.scalar_omt(a, a)
    with pytest.raises(omtcore.InvalidInputError, match="2-D"):
        plot_result(tmp_path / "x.png", a, a, res, "scalar")
