/* labels.cl: integer class labels to float tensors.
 *
 * one_hot writes out (N, classes, H, W): out[b, c, :, :] = on where
 * c == labels[b], else off (H = W = 1 for a plain one-hot row; larger for
 * constant label planes, as a conditional generator's input maps). A label
 * outside [0, classes) matches no channel, so its example is all `off`:
 * a kernel cannot report it, and the host checks labels on upload instead
 * (clg_itensor_upload_labels). One grid-stride pass over the output; memory
 * bound, no tiling. */

__kernel void one_hot(__global float *out, uint out_off,
                      __global const int *labels, uint labels_off,
                      uint total, uint classes, uint plane, float on, float off) {
    CLG_FOR_EACH(i, total) {
        const uint c = (i / plane) % classes, b = i / (plane * classes);
        const int y = labels[labels_off + b];
        out[out_off + i] = (y >= 0 && (uint)y == c) ? on : off;
    }
}
