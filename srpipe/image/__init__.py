"""Image basics every room uses: reading and writing, resizing (MATLAB bicubic), PSNR/SSIM,
and the limits every decode and plan goes through."""
