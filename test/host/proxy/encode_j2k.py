#!/usr/bin/python3
"""Re-encodes a single-frame native DICOM file as JPEG 2000 Lossless with opj_compress (OpenJPEG),
the codestream encapsulated by pydicom. Usage: encode_j2k.py IN.dcm OUT.dcm"""
import subprocess, sys, tempfile, os
import numpy as np
import pydicom
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless

src, dst = sys.argv[1], sys.argv[2]
ds = pydicom.dcmread(src)
arr = ds.pixel_array
with tempfile.TemporaryDirectory() as tmp:
    raw = os.path.join(tmp, 'in.raw')
    j2k = os.path.join(tmp, 'out.j2k')
    arr.astype('<u2').tofile(raw)
    # -F width,height,components,bits,u: raw little-endian unsigned input; lossless by default.
    subprocess.run(['opj_compress', '-i', raw, '-o', j2k, '-F', f'{ds.Columns},{ds.Rows},1,{ds.BitsStored},u'], check=True, capture_output=True)
    stream = open(j2k, 'rb').read()
ds.PixelData = encapsulate([stream])
ds['PixelData'].VR = 'OB'
ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
ds.is_implicit_VR = False
ds.is_little_endian = True
ds.save_as(dst, write_like_original=False)
