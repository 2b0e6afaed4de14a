/* labels.h: wrappers for kernels/labels.cl: integer class labels
 * (clg_itensor, tensor.h) turned into float tensors on the device.
 *
 * Not here: uploading and checking labels (clg_itensor_upload_labels in
 * tensor.h), losses over labels (loss.h). No backward: labels carry no
 * gradient. Calls are enqueued, not waited for. */
#ifndef CLG_LABELS_H
#define CLG_LABELS_H

#include "tensor.h"

/* out (N, classes, H, W) = on at channel labels[b] of example b, off
 * elsewhere; H = W = 1 is the usual one-hot matrix, larger H, W give
 * constant planes. labels has N elements. A label outside [0, classes)
 * leaves its example all `off` (the device cannot fail a launch; upload
 * with clg_itensor_upload_labels to have such labels rejected). Fails with
 * CLG_ERR_INVALID_ARG when the shapes do not agree. */
clg_status clg_one_hot(clg_ctx *ctx, const clg_tensor *out, const clg_itensor *labels,
                       int classes, float on, float off);

#endif
