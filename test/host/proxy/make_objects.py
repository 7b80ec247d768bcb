#!/usr/bin/python3
"""Writes what modalities send, as pydicom makes it: one Explicit VR Little Endian file per SOP
class and variant (single and multi-frame, For Presentation and For Processing), with a private
element of a vendor and nested sequences. Usage: make_objects.py OUT_DIR [ROWS COLS]"""
import sys, os
import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 96
cols = int(sys.argv[3]) if len(sys.argv) > 3 else 128
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)

# (name, SOP class, modality, frames, bits allocated, bits stored, photometric, extra)
KINDS = [
    ('dx-pres', '1.2.840.10008.5.1.4.1.1.1.1', 'DX', 1, 16, 14, 'MONOCHROME2', {'PresentationIntentType': 'FOR PRESENTATION'}),
    ('dx-proc', '1.2.840.10008.5.1.4.1.1.1.1.1', 'DX', 1, 16, 14, 'MONOCHROME1', {'PresentationIntentType': 'FOR PROCESSING'}),
    ('cr', '1.2.840.10008.5.1.4.1.1.1', 'CR', 1, 16, 10, 'MONOCHROME2', {}),
    ('mg-pres', '1.2.840.10008.5.1.4.1.1.1.2', 'MG', 1, 16, 12, 'MONOCHROME2', {'PresentationIntentType': 'FOR PRESENTATION'}),
    ('mg-proc', '1.2.840.10008.5.1.4.1.1.1.2.1', 'MG', 1, 16, 14, 'MONOCHROME2', {'PresentationIntentType': 'FOR PROCESSING'}),
    ('io-pres', '1.2.840.10008.5.1.4.1.1.1.3', 'IO', 1, 16, 12, 'MONOCHROME2', {'PresentationIntentType': 'FOR PRESENTATION'}),
    ('io-proc', '1.2.840.10008.5.1.4.1.1.1.3.1', 'IO', 1, 16, 12, 'MONOCHROME2', {'PresentationIntentType': 'FOR PROCESSING'}),
    ('rf-multi', '1.2.840.10008.5.1.4.1.1.12.2', 'RF', 3, 16, 12, 'MONOCHROME2', {}),
    ('xa-multi', '1.2.840.10008.5.1.4.1.1.12.1', 'XA', 4, 8, 8, 'MONOCHROME2', {}),
    ('xa-single16', '1.2.840.10008.5.1.4.1.1.12.1', 'XA', 1, 16, 10, 'MONOCHROME2', {}),
]

PRIVATE = {'dx-pres', 'mg-proc', 'rf-multi'}
study = generate_uid()
for i, (name, sop_class, modality, frames, alloc, stored, photometric, extra) in enumerate(KINDS):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SpecificCharacterSet = 'ISO_IR 100'
    ds.ImageType = ['ORIGINAL', 'PRIMARY']
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyDate = '20261203'
    ds.StudyTime = '081500'
    ds.AccessionNumber = 'ACC-%03d' % i
    ds.Modality = modality
    ds.Manufacturer = 'Vendor X'
    ds.ManufacturerModelName = 'Acq Suite 9'
    ds.InstitutionName = 'St Elsewhere'
    ds.StationName = 'XRAY1'
    ds.OperatorsName = 'Tech^Tom'
    ds.PatientName = 'Müller^Jürgen'
    ds.PatientID = 'PID-%04d' % i
    ds.PatientBirthDate = '19600101'
    ds.PatientSex = 'M'
    ds.KVP = '81.0'
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = str(i + 1)
    ds.InstanceNumber = '1'
    ds.PatientOrientation = ['A', 'F']
    ds.ReferencedStudySequence = Sequence([Dataset()])
    ds.ReferencedStudySequence[0].ReferencedSOPClassUID = '1.2.840.10008.3.1.2.3.1'
    ds.ReferencedStudySequence[0].ReferencedSOPInstanceUID = generate_uid()
    for k, v in extra.items():
        setattr(ds, k, v)
    # A vendor's private block on some objects: Explicit VR keeps its VRs (Implicit VR loses them).
    if name in PRIVATE:
      ds.add_new(0x00190010, 'LO', 'VENDORX 1.0')
      ds.add_new(0x00191001, 'DS', '1.25')
      ds.add_new(0x00191002, 'OB', b'\x01\x02\x03\x04')
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = alloc
    ds.BitsStored = stored
    ds.HighBit = stored - 1
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = str(frames)
        ds.FrameIncrementPointer = 0x00181063
        ds.FrameTime = '33.3'
    y, x = np.mgrid[0:rows, 0:cols]
    base = 0.4 + 0.3 * np.cos(x / cols * 6) * np.cos(y / rows * 5)
    data = []
    for f in range(frames):
        img = base + 0.02 * f + rng.normal(0, 0.01, (rows, cols))
        data.append(np.clip(img * (2 ** stored - 1), 0, 2 ** stored - 1))
    arr = np.array(data).astype(np.uint16 if alloc == 16 else np.uint8)
    ds.PixelData = arr.tobytes()
    ds['PixelData'].VR = 'OW' if alloc == 16 else 'OB'
    ds.save_as(os.path.join(out, name + '.dcm'), write_like_original=False)
