"""srpipe's medical task plugin: 16-bit, single-channel SR on DICOM, NIfTI and 16-bit images.

``srpipe run medical`` upscales a DICOM file (CT, MR, ...), a NIfTI volume or a 16-bit
PNG/TIFF and writes it back in its own format with its metadata and the new pixel spacing;
``srpipe eval medical`` measures image quality in the modality's own range and how well a
classical segmentation on the upscaled image agrees with the same segmentation on HR
(Dice, Hausdorff distance in millimetres). Registered through the ``srpipe`` entry-point
group like every task plugin; pydicom and nibabel are the ``medical`` extra.
"""
