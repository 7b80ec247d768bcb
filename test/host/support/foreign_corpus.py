#!/usr/bin/python3
"""Writes DICOM files radseal has never seen, as other software writes them: pydicom's own test and
character-set files (as Debian ships them), objects pydicom builds with vendor quirks, and byte-level
quirks pydicom will not write (odd lengths, unknown VRs, trailing padding...). Nothing is downloaded.

Usage: foreign_corpus.py OUT_DIR [--quick]
Writes OUT_DIR/*.dcm and OUT_DIR/manifest.json: {file: {"kind", "send": storescu|implicit|dcmsend|dataset,
"ts", "uid", "reference" (a bare data set's Part 10 twin), "expect": "untouched" (signed by another signer)}}.
--quick: the quirk objects and a handful of pydicom's files (for CI); without it every pydicom file."""
import json, os, shutil, struct, sys
import numpy as np
import pydicom
import pydicom.data
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

out = sys.argv[1]
quick = '--quick' in sys.argv
os.makedirs(out, exist_ok=True)
manifest = {}
rng = np.random.default_rng(11)

DX = '1.2.840.10008.5.1.4.1.1.1.1'
CR = '1.2.840.10008.5.1.4.1.1.1'
SC = '1.2.840.10008.5.1.4.1.1.7'
XA = '1.2.840.10008.5.1.4.1.1.12.1'
MF_GREY16 = '1.2.840.10008.5.1.4.1.1.7.3'


def note(name, kind, send='storescu', expect=None):
    manifest[name] = {'kind': kind, 'send': send}
    if expect:
        manifest[name]['expect'] = expect


# ---------------------------------------------------------------- pydicom's own files
PYDICOM_QUICK = {
    'CT_small.dcm', 'MR_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'MR_small_RLE.dcm',
    'JPEG2000.dcm', 'SC_rgb_small_odd.dcm', 'nested_priv_SQ.dcm', 'priv_SQ.dcm', 'UN_sequence.dcm', 'badVR.dcm',
    'no_meta.dcm', 'ExplVR_LitEndNoMeta.dcm', 'image_dfl.dcm', 'rtplan.dcm', 'test-SR.dcm', 'waveform_ecg.dcm',
    'empty_charset_LEI.dcm', 'MR_small_padded.dcm', 'meta_missing_tsyntax.dcm', 'chrJapMulti.dcm',
    'chrKoreanMulti.dcm', 'chrGreek.dcm', 'chrX1.dcm', 'chrSQEncoding.dcm', 'JPEG2000-embedded-sequence-delimiter.dcm',
    'liver_1frame.dcm', 'SC_ybr_full_422_uncompressed.dcm', 'rtdose.dcm',
}
base = os.path.dirname(pydicom.data.__file__)
for sub in ('test_files', 'charset_files'):
    folder = os.path.join(base, sub)
    for f in sorted(os.listdir(folder)):
        if not f.endswith('.dcm') or (quick and f not in PYDICOM_QUICK):
            continue
        name = 'pydicom-' + f
        shutil.copyfile(os.path.join(folder, f), os.path.join(out, name))
        note(name, 'pydicom ' + sub)


# ---------------------------------------------------------------- objects pydicom builds
def image(name, kind, rows=8, cols=8, alloc=16, stored=None, signed=False, photometric='MONOCHROME2', spp=1,
          planar=0, frames=None, pixel_vr=None, sop=DX, implicit=False, extra=None, pixels=None):
    stored = stored or alloc
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = implicit
    ds.SpecificCharacterSet = 'ISO_IR 100'
    ds.ImageType = ['ORIGINAL', 'PRIMARY', '']
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyDate = '20261203'
    ds.Modality = 'DX' if sop == DX else 'OT'
    ds.Manufacturer = 'Foreign Vendor'
    ds.PatientName = 'Foreign^Patient'
    ds.PatientID = 'F-' + name[:20]
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientOrientation = ['A', 'F']
    ds.SamplesPerPixel = spp
    ds.PhotometricInterpretation = photometric
    if spp > 1:
        ds.PlanarConfiguration = planar
    if frames is not None:
        ds.NumberOfFrames = str(frames)
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = alloc
    ds.BitsStored = stored
    ds.HighBit = stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    for k, v in (extra or {}).items():
        setattr(ds, k, v)
    n = (frames or 1) * rows * cols * spp
    if pixels is None:
        lo, hi = (-(2 ** (stored - 1)), 2 ** (stored - 1) - 1) if signed else (0, 2 ** stored - 1)
        vals = rng.integers(lo, hi + 1, n)
        dtype = {8: np.int8 if signed else np.uint8, 16: np.int16 if signed else np.uint16, 32: np.int32 if signed else np.uint32}[alloc]
        pixels = vals.astype(dtype).tobytes()
    if len(pixels) % 2:
        pixels += b'\0'
    ds.PixelData = pixels
    ds['PixelData'].VR = pixel_vr or ('OB' if alloc == 8 else 'OW')
    return ds


def save(ds, name, kind, send='storescu', **kw):
    ds.save_as(os.path.join(out, name), write_like_original=kw.get('like_original', False))
    note(name, kind, send)


save(image('8bit-ob', '8-bit', alloc=8), 'q-8bit-ob.dcm', 'Bits Allocated 8, Pixel Data OB')
save(image('8bit-ow', '8-bit OW', alloc=8, pixel_vr='OW'), 'q-8bit-ow.dcm', 'Bits Allocated 8, Pixel Data OW')
save(image('12in16', '12 in 16', stored=12), 'q-12in16.dcm', '12 bits stored in 16')
save(image('signed', 'signed', stored=16, signed=True, extra={'RescaleIntercept': '-1024', 'RescaleSlope': '1'}), 'q-signed16.dcm', 'Pixel Representation 1, 16-bit')
s = image('signed-smallest', 'signed', stored=12, signed=True)
s.add_new(0x00280106, 'SS', -2048)
s.add_new(0x00280107, 'SS', 2047)
save(s, 'q-signed-smallest-ss.dcm', 'signed, Smallest/Largest Image Pixel Value SS')
s = image('signed-smallest-i', 'signed', stored=12, signed=True, implicit=True)
s.add_new(0x00280106, 'SS', -2048)
s.add_new(0x00280107, 'SS', 2047)
save(s, 'q-signed-smallest-implicit.dcm', 'Implicit VR signed, Smallest/Largest Image Pixel Value (US or SS)')
save(image('mono1', 'MONOCHROME1', stored=14, photometric='MONOCHROME1'), 'q-monochrome1.dcm', 'MONOCHROME1')
save(image('rgb0', 'RGB', alloc=8, spp=3, photometric='RGB', planar=0, sop=SC), 'q-rgb-planar0.dcm', 'RGB planar configuration 0')
save(image('rgb1', 'RGB', alloc=8, spp=3, photometric='RGB', planar=1, sop=SC), 'q-rgb-planar1.dcm', 'RGB planar configuration 1')
save(image('ybr422', 'YBR_FULL_422', rows=4, cols=6, alloc=8, spp=3, photometric='YBR_FULL_422', sop=SC, pixels=bytes(range(48))), 'q-ybr-full-422.dcm', 'YBR_FULL_422 native: Y Y Cb Cr for two pixels (2 bytes a pixel)')
save(image('1bit-frames', '1-bit', rows=3, cols=5, alloc=1, stored=1, frames=3, sop='1.2.840.10008.5.1.4.1.1.66.4', pixels=bytes(range(6))), 'q-1bit-3x5-3frames.dcm', 'Bits Allocated 1, 3 frames of 3x5 packed bit after bit (45 bits)')
save(image('rgb16', 'RGB 16', alloc=16, spp=3, photometric='RGB', sop=SC), 'q-rgb16.dcm', 'RGB 16-bit')
p = image('palette', 'palette', alloc=8, photometric='PALETTE COLOR', sop=SC)
for t in (0x00281101, 0x00281102, 0x00281103):
    p.add_new(t, 'US', [256, 0, 16])
for t in (0x00281201, 0x00281202, 0x00281203):
    p.add_new(t, 'OW', (np.arange(256, dtype=np.uint16) * 256).tobytes())
save(p, 'q-palette.dcm', 'PALETTE COLOR with LUTs')
p = image('palette-i', 'palette', alloc=8, photometric='PALETTE COLOR', sop=SC, implicit=True)
for t in (0x00281101, 0x00281102, 0x00281103):
    p.add_new(t, 'US', [256, 0, 16])
for t in (0x00281201, 0x00281202, 0x00281203):
    p.add_new(t, 'OW', (np.arange(256, dtype=np.uint16) * 256).tobytes())
save(p, 'q-palette-implicit.dcm', 'Implicit VR PALETTE COLOR (descriptors US or SS, LUT data US or OW)')
save(image('1x1', '1x1', rows=1, cols=1), 'q-1x1.dcm', '1x1 16-bit')
save(image('1x1-8', '1x1', rows=1, cols=1, alloc=8), 'q-1x1-8bit.dcm', '1x1 8-bit (padded Pixel Data)')
save(image('3x5', '3x5', rows=3, cols=5, alloc=8), 'q-3x5-8bit.dcm', '3x5 8-bit, odd pixel count padded')
save(image('3x5-16', '3x5', rows=3, cols=5), 'q-3x5.dcm', '3x5 16-bit')
save(image('wide', '4097 wide', rows=2, cols=4097, stored=12), 'q-4097-wide.dcm', '2x4097 12-bit')
save(image('33x65', 'odd', rows=33, cols=65, stored=12), 'q-33x65.dcm', '33x65 12-bit')
save(image('tall', '4097 tall', rows=4097, cols=3, stored=12), 'q-4097-tall.dcm', '4097x3 12-bit')
save(image('nf1', 'frames 1', frames=1, sop=XA, stored=10, extra={'FrameIncrementPointer': 0x00181063, 'FrameTime': '33'}), 'q-frames-1.dcm', 'multi-frame, Number of Frames 1')
save(image('nf64', 'frames 64', rows=16, cols=16, frames=64, sop=XA, stored=10, extra={'FrameIncrementPointer': 0x00181063, 'FrameTime': '33'}), 'q-frames-64.dcm', 'multi-frame, 64 frames')
save(image('nf3-8', 'frames 3', rows=5, cols=3, frames=3, alloc=8, sop=XA, extra={'FrameIncrementPointer': 0x00181063, 'FrameTime': '33'}), 'q-frames-3-odd-8bit.dcm', 'multi-frame 8-bit 5x3, odd total length')
save(image('32bit', '32-bit', rows=4, cols=4, alloc=32, stored=32, sop=MF_GREY16), 'q-32bit.dcm', 'Bits Allocated 32')
save(image('1bit', '1-bit', rows=8, cols=8, alloc=1, stored=1, sop=SC, pixels=bytes(rng.integers(0, 256, 8, dtype=np.uint8))), 'q-1bit.dcm', 'Bits Allocated 1 (bit-packed)')

# Float Pixel Data (parametric map): no (7FE0,0010) at all.
fl = image('float', 'float', rows=4, cols=4, alloc=32, sop='1.2.840.10008.5.1.4.1.1.30')
del fl.PixelData
del fl.PixelRepresentation, fl.BitsStored, fl.HighBit
fl.add_new(0x7FE00008, 'OF', np.linspace(0, 1, 16, dtype=np.float32).tobytes())
save(fl, 'q-float-pixels.dcm', 'Float Pixel Data (7FE0,0008) only')

# Attributes: sequences, private blocks, retired elements, VR mismatches, empty values, multi-valued strings, charsets.
a = image('attrs', 'attributes', stored=12)
inner = Dataset()
inner.CodeValue = 'R-1'
inner.CodingSchemeDesignator = 'SRT'
inner.CodeMeaning = 'deep'
mid = Dataset()
mid.ConceptNameCodeSequence = Sequence([inner])
mid.add_new(0x00091010, 'LO', 'NESTED VENDOR')
mid.add_new(0x00091011, 'SQ', Sequence([Dataset()]))
outer = Dataset()
outer.ContentSequence = Sequence([mid, Dataset()])
a.ContentSequence = Sequence([outer])
a.ContentSequence.is_undefined_length = True
a.ReferencedImageSequence = Sequence([])
a.add_new(0x00290010, 'LO', 'SIEMENS CSA HEADER')
a.add_new(0x00291008, 'CS', 'IMAGE NUM 4')
a.add_new(0x00291010, 'OB', bytes(range(16)))
a.add_new(0x00291020, 'SQ', Sequence([Dataset()]))
a[0x00291020].value[0].add_new(0x00100010, 'PN', 'In^Private')
a.add_new(0x00431001, 'SS', -5)                      # private element with no creator
a.add_new(0x00280040, 'CS', 'RECT')                  # retired Image Format
a.add_new(0x00080010, 'SH', 'ACR-NEMA 2.0')          # retired Recognition Code
a.add_new(0x00280005, 'US', 2)                       # retired Image Dimensions
a.add_new(0x00081030, 'LO', '')                      # empty
a.add_new(0x00181020, 'LO', ['SW 1.0', 'SW 2.0', 'DET\\FW 3'.split('\\')[0]])
a.add_new(0x00200037, 'DS', ['1', '0', '0', '0', '1', '0'])
a.add_new(0x00180015, 'CS', '')
a.add_new(0x00209113, 'SQ', Sequence([]))
a.add_new(0x00280030, 'DS', ['0.143', '0.143'])
a.add_new(0x00181164, 'DS', ['0.1', '0.1'])
a.add_new(0x00204000, 'LT', 'line one\r\nline two\\not a separator in LT')
a.add_new(0x00189219, 'DS', '')  # empty DS
a.add_new(0x00280106, 'US', 0)
a.add_new(0x00280034, 'IS', ['1', '1'])
a.add_new(0x00181150, 'IS', '')
a.add_new(0x00189004, 'CS', 'PRODUCT')
a.add_new(0x00080100, 'SH', 'X')
a.add_new(0x0020000D, 'UI', a.StudyInstanceUID)
a.add_new(0x00100021, 'LO', '')
a.add_new(0x00102160, 'SH', '')
a.add_new(0x00101010, 'AS', '042Y')
a.add_new(0x00186011, 'SQ', Sequence([Dataset()]))
a[0x00186011].value[0].add_new(0x00186012, 'US', 1)
a[0x00186011].value[0].add_new(0x00186014, 'US', 1)
a.add_new(0x00089007, 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL', 'NONE'])
a.add_new(0x00209157, 'UL', [1, 2])
a.add_new(0x00209165, 'AT', [0x00200032, 0x00209157])
a.add_new(0x00189087, 'FD', 1000.5)
a.add_new(0x00189089, 'FD', [0.0, 1.0, 0.0])
a.add_new(0x00186020, 'SL', -7)
a.add_new(0x00186024, 'FL', 0.25)
a.add_new(0x00081190, 'UR', 'http://example.org/wado?x=1 ')
a.add_new(0x00400254, 'LO', 'Performed')
a.add_new(0x00180026, 'SQ', Sequence([]))
a.add_new(0x00400555, 'SQ', Sequence([]))
a.add_new(0x00720066, 'UT', 'unlimited \\ text')
a.add_new(0x00189080, 'ST', 'short text')
save(a, 'q-attributes.dcm', 'nested and undefined-length sequences, private blocks, no-creator private, retired, empty, multi-valued, AT/FD/SL/UR/UT')
ai = image('attrs-i', 'attributes implicit', stored=12, implicit=True)
for el in a:
    if el.tag not in ai and el.tag.group != 0x0029 and el.tag != 0x00431001 and el.tag < 0x7FE00000:
        ai.add(el)
save(ai, 'q-attributes-implicit.dcm', 'Implicit VR: sequences, retired, empty, multi-valued (no private)')

m = image('vr-mismatch', 'VR mismatch', stored=12)
m.add_new(0x00100010, 'LO', 'Wrong^VR')         # PN written as LO
m.add_new(0x00100030, 'LO', '19600101')         # DA written as LO
m.add_new(0x00181030, 'UT', 'protocol as UT')   # LO written as UT
m.add_new(0x00280301, 'CS', 'NO')
m.add_new(0x00200013, 'LO', '1')                # IS written as LO
save(m, 'q-vr-mismatch.dcm', 'Explicit VR elements whose VR differs from the dictionary')

for label, charset, names in (
    ('japanese', ['', 'ISO 2022 IR 87'], 'Yamada^Tarou=\033$B;3ED\033(B^\033$BB@O:\033(B=\033$B$d$^$@\033(B^\033$B$?$m$&\033(B'),
    ('korean', ['', 'ISO 2022 IR 149'], 'Hong^Gildong=\033$)C\xfb\xf3^\033$)C\xd1\xce\xd4\xd7=\033$)C\xc8\xab^\033$)C\xb1\xe6\xb5\xbf'),
    ('greek', 'ISO_IR 126', '\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2'),
    ('utf8', 'ISO_IR 192', 'Wang^XiaoDong=王^小東='),
    ('latin1-multi', ['ISO_IR 100', 'ISO 2022 IR 100'], 'Müller^Jürgen'),
):
    c = image('cs-' + label, 'charset', stored=12)
    c.SpecificCharacterSet = charset
    raw = names.encode('latin-1') if label in ('japanese', 'korean', 'greek') else names.encode('utf-8' if label == 'utf8' else 'latin-1')
    c.add_new(0x00100010, 'PN', raw)
    c.add_new(0x00081030, 'LO', raw.split(b'=')[0])
    save(c, 'q-charset-%s.dcm' % label, 'Specific Character Set %s, patient name in it' % charset)

# Icon Image Sequence: a Pixel Data nested in a sequence before the image's own.
ic = image('icon', 'icon', stored=12)
icon = Dataset()
icon.SamplesPerPixel = 1
icon.PhotometricInterpretation = 'MONOCHROME2'
icon.Rows = 2
icon.Columns = 2
icon.BitsAllocated = 8
icon.BitsStored = 8
icon.HighBit = 7
icon.PixelRepresentation = 0
icon.PixelData = bytes([1, 2, 3, 4])
icon['PixelData'].VR = 'OB'
ic.IconImageSequence = Sequence([icon])
ic.IconImageSequence.is_undefined_length = True
save(ic, 'q-icon-image.dcm', 'Icon Image Sequence with its own nested Pixel Data')

ov = image('overlay', 'overlay', stored=12)
ov.add_new(0x60000010, 'US', 8)
ov.add_new(0x60000011, 'US', 8)
ov.add_new(0x60000040, 'CS', 'G')
ov.add_new(0x60000050, 'SS', [1, 1])
ov.add_new(0x60000100, 'US', 1)
ov.add_new(0x60000102, 'US', 0)
ov.add_new(0x60003000, 'OW', bytes(8))
save(ov, 'q-overlay.dcm', 'overlay plane (6000,3000) OW')

# Group lengths, Length to End, trailing padding, extra meta elements, wrong Media Storage SOP Class.
g = image('group-length', 'group length', stored=12)
g.add_new(0x00080000, 'UL', 0)
g.add_new(0x00100000, 'UL', 0)
g.add_new(0x00080001, 'UL', 0)   # Length to End (retired)
g.add_new(0x00280000, 'UL', 0)
g.add_new(0xFFFCFFFC, 'OB', bytes(6))
g.file_meta.ImplementationVersionName = 'FOREIGN_1.0'
g.file_meta.SourceApplicationEntityTitle = 'FOREIGNAE'
g.file_meta.add_new(0x00020100, 'UI', '1.2.3.4.5')
g.file_meta.add_new(0x00020102, 'OB', b'private meta')
g.SOPClassUID = CR
g.file_meta.MediaStorageSOPClassUID = CR
save(g, 'q-group-lengths.dcm', 'group lengths (wrong values), Length to End, Data Set Trailing Padding, extra meta elements')
np_ = image('no-patient', 'no patient module', stored=12)
del np_.PatientName, np_.PatientID
save(np_, 'q-no-patient-module.dcm', "no Patient's Name, no Patient ID (Type 2, absent as some secondary capture writers leave them)")
w = image('wrong-meta', 'wrong meta', stored=12)
w.file_meta.MediaStorageSOPClassUID = SC
save(w, 'q-wrong-media-sop-class.dcm', 'Media Storage SOP Class (SC) disagreeing with SOP Class (DX)')
nm = image('no-meta', 'no meta', stored=12)
nm.file_meta = FileMetaDataset()
nm.preamble = None
nm.save_as(os.path.join(out, 'q-no-meta-explicit.dcm'), write_like_original=True)
note('q-no-meta-explicit.dcm', 'no preamble, no meta header (Explicit VR LE data set)', 'dataset')
nm = image('no-meta-i', 'no meta', stored=12, implicit=True)
nm.file_meta = FileMetaDataset()
nm.preamble = None
nm.save_as(os.path.join(out, 'q-no-meta-implicit.dcm'), write_like_original=True)
note('q-no-meta-implicit.dcm', 'no preamble, no meta header (Implicit VR LE data set)', 'dataset')

# Non-image objects: SR, KO, PR.
for label, sop in (('sr', '1.2.840.10008.5.1.4.1.1.88.11'), ('ko', '1.2.840.10008.5.1.4.1.1.88.59'), ('pr', '1.2.840.10008.5.1.4.1.1.11.1')):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    d = FileDataset(None, {}, file_meta=meta, preamble=b'\0' * 128)
    d.is_little_endian, d.is_implicit_VR = True, False
    d.SOPClassUID, d.SOPInstanceUID = sop, meta.MediaStorageSOPInstanceUID
    d.Modality = label.upper()
    d.PatientName, d.PatientID = 'No^Pixels', 'NP-' + label
    d.StudyInstanceUID, d.SeriesInstanceUID = generate_uid(), generate_uid()
    d.ContentSequence = Sequence([Dataset()])
    d.ContentSequence[0].ValueType = 'TEXT'
    d.ContentSequence[0].TextValue = 'no pixels here'
    save(d, 'q-nopixels-%s.dcm' % label, 'no Pixel Data (%s)' % label.upper())


# ---------------------------------------------------------------- byte-level quirks pydicom will not write
def explicit(tag_, vr, value, undefined=False):
    g_, e_ = tag_ >> 16, tag_ & 0xFFFF
    head = struct.pack('<HH', g_, e_) + vr.encode()
    if vr in ('OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV'):
        return head + b'\0\0' + struct.pack('<I', 0xFFFFFFFF if undefined else len(value)) + value
    return head + struct.pack('<H', len(value)) + value


def implicit(tag_, value):
    return struct.pack('<HHI', tag_ >> 16, tag_ & 0xFFFF, len(value)) + value


def part10(body, ts=ExplicitVRLittleEndian, sop=DX, uid=None):
    uid = uid or generate_uid()
    meta = Dataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ts
    metab = b''.join(explicit(t, vr, v) for t, vr, v in (
        (0x00020001, 'OB', b'\0\1'), (0x00020002, 'UI', pad(sop, b'\0')), (0x00020003, 'UI', pad(uid, b'\0')),
        (0x00020010, 'UI', pad(ts, b'\0')), (0x00020012, 'UI', pad('1.2.3.4', b'\0'))))
    return b'\0' * 128 + b'DICM' + explicit(0x00020000, 'UL', struct.pack('<I', len(metab))) + metab + body, uid


def pad(s, c=b' '):
    b = s.encode() if isinstance(s, str) else s
    return b + c if len(b) % 2 else b


def raw(name, kind, before_pixels, after_pixels=b'', sop=DX, ts=ExplicitVRLittleEndian, rows=2, cols=2, pixel_vr='OW'):
    uid = generate_uid()
    ex = ts == ExplicitVRLittleEndian
    el = (lambda t, vr, v: explicit(t, vr, v)) if ex else (lambda t, vr, v: implicit(t, v))
    head = [
        (0x00080016, 'UI', pad(sop, b'\0')), (0x00080018, 'UI', pad(uid, b'\0')), (0x00080060, 'CS', b'DX'),
        (0x00100010, 'PN', b'Raw^Quirk '), (0x00100020, 'LO', pad('R-' + name[:12])),
        (0x0020000D, 'UI', pad(generate_uid(), b'\0')), (0x0020000E, 'UI', pad(generate_uid(), b'\0')),
    ]
    img = [
        (0x00280002, 'US', struct.pack('<H', 1)), (0x00280004, 'CS', b'MONOCHROME2 '),
        (0x00280010, 'US', struct.pack('<H', rows)), (0x00280011, 'US', struct.pack('<H', cols)),
        (0x00280100, 'US', struct.pack('<H', 16)), (0x00280101, 'US', struct.pack('<H', 12)),
        (0x00280102, 'US', struct.pack('<H', 11)), (0x00280103, 'US', struct.pack('<H', 0)),
    ]
    elems = {t: el(t, vr, v) for t, vr, v in head + img}
    for t, b in before_pixels:
        elems[t] = b
    body = b''.join(elems[t] for t in sorted(elems))
    body += el(0x7FE00010, pixel_vr, bytes(range(rows * cols * 2)))
    body += after_pixels
    data, _ = part10(body, ts, sop, uid)
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
    note(name, kind)


raw('r-odd-length-lo.dcm', 'odd-length LO value (no padding)', [(0x00081030, explicit(0x00081030, 'LO', b'ODD'))])
raw('r-ui-space-padded.dcm', 'UI padded with a space instead of NUL', [(0x00081155, explicit(0x00081155, 'UI', b'1.2.3 '))])
raw('r-lo-nul-padded.dcm', 'LO padded with NUL instead of space', [(0x00081030, explicit(0x00081030, 'LO', b'ABC\0'))])
raw('r-pn-trailing-spaces.dcm', 'PN with many trailing spaces', [(0x00100010, explicit(0x00100010, 'PN', b'Spaces^Many      '))])
raw('r-un-explicit.dcm', 'UN element in Explicit VR (public tag)', [(0x00181000, explicit(0x00181000, 'UN', b'SERIAL'))])
raw('r-un-private.dcm', 'UN private element with its creator', [(0x00190010, explicit(0x00190010, 'LO', b'ACME 1.0')), (0x00191001, explicit(0x00191001, 'UN', b'\1\2\3\4'))])
seq_undef = (explicit(0x00081140, 'SQ', b'', undefined=True)
             + struct.pack('<HHI', 0xFFFE, 0xE000, 0xFFFFFFFF) + explicit(0x00081150, 'UI', pad(DX, b'\0'))
             + explicit(0x00081155, 'UI', pad('1.2.3.4.5', b'\0')) + struct.pack('<HHI', 0xFFFE, 0xE00D, 0)
             + struct.pack('<HHI', 0xFFFE, 0xE000, 0) + struct.pack('<HHI', 0xFFFE, 0xE0DD, 0))
raw('r-undefined-length-sq.dcm', 'undefined-length sequence with an undefined-length item and an empty item', [(0x00081140, seq_undef)])
raw('r-empty-sq-undefined.dcm', 'undefined-length sequence with no item', [(0x00081140, explicit(0x00081140, 'SQ', b'', undefined=True) + struct.pack('<HHI', 0xFFFE, 0xE0DD, 0))])
raw('r-sv-uv.dcm', 'SV and UV (64-bit) elements, OL and OD', [
    (0x00720082, explicit(0x00720082, 'SV', struct.pack('<q', -5))),
    (0x00720083, explicit(0x00720083, 'UV', struct.pack('<Q', 5))),
    (0x00660129, explicit(0x00660129, 'OL', struct.pack('<I', 7))),
    (0x00640009, explicit(0x00640009, 'OD', struct.pack('<d', 1.5))),
])
raw('r-uc.dcm', 'UC element', [(0x00189219, explicit(0x00189219, 'UC', pad('unlimited characters')))])
raw('r-zero-length-everything.dcm', 'zero-length US, UL, FD, OB, DA, PN, SQ', [
    (0x00280006, explicit(0x00280006, 'US', b'')), (0x00280103, explicit(0x00280103, 'US', struct.pack('<H', 0))),
    (0x00189219, explicit(0x00189219, 'DS', b'')), (0x00080020, explicit(0x00080020, 'DA', b'')),
    (0x00100010, explicit(0x00100010, 'PN', b'')), (0x00081140, explicit(0x00081140, 'SQ', b'')),
    (0x00189087, explicit(0x00189087, 'FD', b'')), (0x00290010, explicit(0x00290010, 'LO', pad('VENDOR'))),
    (0x00291001, explicit(0x00291001, 'OB', b'')),
])
raw('r-private-creator-only.dcm', 'a private creator with no elements, and a private element whose creator is in another block', [
    (0x00090010, explicit(0x00090010, 'LO', pad('EMPTY CREATOR'))), (0x00110010, explicit(0x00110010, 'LO', pad('A'))),
    (0x00111101, explicit(0x00111101, 'LO', pad('orphan'))),
])
raw('r-implicit-retired.dcm', 'Implicit VR retired and ambiguous elements', [
    (0x00080010, implicit(0x00080010, pad('ACR-NEMA'))), (0x00280040, implicit(0x00280040, pad('RECT'))),
    (0x00280005, implicit(0x00280005, struct.pack('<H', 2))), (0x00280106, implicit(0x00280106, struct.pack('<H', 0))),
    (0x00281101, implicit(0x00281101, struct.pack('<HHH', 256, 0, 16))),
], ts=ImplicitVRLittleEndian)
raw('r-implicit-private-creator.dcm', 'Implicit VR private creator and its unknown element', [
    (0x00190010, implicit(0x00190010, pad('GEMS_ACQU_01'))), (0x00191002, implicit(0x00191002, pad('x'))),
], ts=ImplicitVRLittleEndian)
raw('r-after-pixels-padding.dcm', 'Data Set Trailing Padding after Pixel Data', [], after_pixels=explicit(0xFFFCFFFC, 'OB', bytes(16)))
raw('r-short-pixels.dcm', 'Pixel Data shorter than Rows x Columns', [(0x00280010, explicit(0x00280010, 'US', struct.pack('<H', 64)))])
raw('r-long-pixels.dcm', 'Pixel Data longer than Rows x Columns', [(0x00280010, explicit(0x00280010, 'US', struct.pack('<H', 1)))])
raw('r-no-rows.dcm', 'Rows missing', [(0x00280010, b'')])
raw('r-rows-zero.dcm', 'Rows 0 and Columns 0', [(0x00280010, explicit(0x00280010, 'US', struct.pack('<H', 0))), (0x00280011, explicit(0x00280011, 'US', struct.pack('<H', 0)))], rows=0, cols=0)
raw('r-frames-zero.dcm', 'Number of Frames 0', [(0x00280008, explicit(0x00280008, 'IS', b'0 '))])
raw('r-frames-garbage.dcm', 'Number of Frames not a number', [(0x00280008, explicit(0x00280008, 'IS', b'x '))])
raw('r-bits-garbage.dcm', 'Bits Allocated 12, Samples per Pixel 0', [(0x00280100, explicit(0x00280100, 'US', struct.pack('<H', 12))), (0x00280002, explicit(0x00280002, 'US', struct.pack('<H', 0)))])
raw('r-vr-lowercase.dcm', 'an Explicit VR that is no VR (lowercase "xx")', [(0x00081030, struct.pack('<HH', 0x0008, 0x1030) + b'xx' + struct.pack('<H', 2) + b'AB')])
raw('r-ut-short-length.dcm', 'UT written with a 2-byte length (an old writer): the header form is wrong', [(0x00081030, struct.pack('<HH', 0x0008, 0x1030) + b'UT' + struct.pack('<H', 4) + b'ABCD')])
raw('r-duplicate-element.dcm', 'the same element twice', [(0x00081030, explicit(0x00081030, 'LO', b'ONE ') + explicit(0x00081030, 'LO', b'TWO '))])
raw('r-out-of-order.dcm', 'elements out of tag order', [(0x00081030, explicit(0x00181030, 'LO', b'LATER ') + explicit(0x00081030, 'LO', b'EARLY '))])
raw('r-item-no-delimiter.dcm', 'an undefined-length item whose sequence ends without its item delimiter', [(0x00081140, explicit(0x00081140, 'SQ', b'', undefined=True)
    + struct.pack('<HHI', 0xFFFE, 0xE000, 0xFFFFFFFF) + explicit(0x00081155, 'UI', pad('1.2.3', b'\0')) + struct.pack('<HHI', 0xFFFE, 0xE0DD, 0))])
raw('r-pixel-ob-16bit.dcm', '16-bit Pixel Data written OB', [], pixel_vr='OB')

# ---------------------------------------------------------------- DCMTK's writers
import subprocess


def dcmtk(cmd, *args):
    subprocess.run([cmd, *args], check=True, capture_output=True)


def variant(src, dst, kind, cmd, *args, send='dcmsend'):
    dcmtk(cmd, *args, os.path.join(out, src), os.path.join(out, dst))
    dcmtk('dcmodify', '-nb', '-gin', os.path.join(out, dst))
    note(dst, kind, send)


variant('q-8bit-ob.dcm', 'd-8bit-jpeg-baseline.dcm', 'JPEG Baseline (lossy) of 8-bit', 'dcmcjpeg', '+eb')
variant('q-12in16.dcm', 'd-12bit-jpeg-extended.dcm', 'JPEG Extended 12-bit', 'dcmcjpeg', '+ee')
variant('q-signed16.dcm', 'd-signed-jpeg-lossless.dcm', 'JPEG Lossless of signed 16-bit', 'dcmcjpeg', '+e1')
variant('q-rgb-planar0.dcm', 'd-rgb-jpeg-lossless.dcm', 'JPEG Lossless RGB', 'dcmcjpeg', '+e1')
variant('q-frames-64.dcm', 'd-frames-jpeg-ls-fragments.dcm', 'JPEG-LS 64 frames, 64-byte fragments', 'dcmcjpls', '+fs', '1')
variant('q-3x5-8bit.dcm', 'd-3x5-rle.dcm', 'RLE of an odd-sized 8-bit image', 'dcmcrle')
variant('q-rgb-planar1.dcm', 'd-rgb-rle.dcm', 'RLE of RGB', 'dcmcrle')
variant('q-attributes.dcm', 'd-attributes-rle-no-offsets.dcm', 'RLE with undefined-length sequences', 'dcmcrle')
variant('q-attributes.dcm', 'd-attributes-implicit.dcm', 'dcmconv to Implicit VR (private elements lose their VRs)', 'dcmconv', '+ti', send='storescu')
variant('q-12in16.dcm', 'd-big-endian.dcm', 'Explicit VR Big Endian', 'dcmconv', '+tb', send='storescu')
variant('q-12in16.dcm', 'd-deflated.dcm', 'Deflated Explicit VR LE', 'dcmconv', '+td', send='storescu')
variant('q-attributes.dcm', 'd-attributes-explicit-retouched.dcm', 'dcmconv Explicit VR LE rewrite (defined lengths)', 'dcmconv', '+te', '-e', send='storescu')
variant('q-monochrome1.dcm', 'd-monochrome1-group-lengths.dcm', 'dcmconv adding group lengths', 'dcmconv', '+g', send='storescu')
# Extended Offset Table (7FE0,0001/0002, OV) over the JPEG-LS frames, as recent encoders write it.
from pydicom.encaps import generate_pixel_data_frame, encapsulate_extended
src = pydicom.dcmread(os.path.join(out, 'd-frames-jpeg-ls-fragments.dcm'))
frames = list(generate_pixel_data_frame(src.PixelData, int(src.NumberOfFrames)))
src.PixelData, eot, eot_lengths = encapsulate_extended(frames)
src['PixelData'].VR = 'OB'
src.add_new(0x7FE00001, 'OV', eot)
src.add_new(0x7FE00002, 'OV', eot_lengths)
src.SOPInstanceUID = src.file_meta.MediaStorageSOPInstanceUID = generate_uid()
src.save_as(os.path.join(out, 'd-frames-jpeg-ls-extended-offsets.dcm'), write_like_original=False)
note('d-frames-jpeg-ls-extended-offsets.dcm', 'JPEG-LS 64 frames with an Extended Offset Table (OV)', 'dcmsend')
# Signed by another signer (DCMTK dcmsign, an RSA key of its own): forwarded untouched, never re-sealed.
keydir = os.path.join(out, 'vendor-key')
os.makedirs(keydir)
subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', os.path.join(keydir, 'k.pem'), '-out', os.path.join(keydir, 'c.pem'),
                '-subj', '/CN=Foreign Vendor Signer', '-days', '2'], check=True, capture_output=True)
shutil.copyfile(os.path.join(out, 'q-attributes.dcm'), os.path.join(keydir, 'in.dcm'))
dcmtk('dcmodify', '-nb', '-gin', os.path.join(keydir, 'in.dcm'))
dcmtk('dcmsign', '--sign', os.path.join(keydir, 'k.pem'), os.path.join(keydir, 'c.pem'), os.path.join(keydir, 'in.dcm'), os.path.join(out, 'd-signed-by-dcmsign.dcm'))
shutil.rmtree(keydir)
note('d-signed-by-dcmsign.dcm', 'already signed by another signer (DCMTK dcmsign, RSA): forwarded untouched', expect='untouched')
# img2dcm from a BMP (secondary capture, 8-bit grey)
w_, h_ = 5, 3
row = ((w_ + 3) // 4) * 4
pal = b''.join(bytes([i, i, i, 0]) for i in range(256))
pix = b''.join(bytes(range(y * 10, y * 10 + w_)) + b'\0' * (row - w_) for y in range(h_))
bmp = b'BM' + struct.pack('<IHHI', 14 + 40 + len(pal) + len(pix), 0, 0, 14 + 40 + len(pal)) + struct.pack('<IiiHHIIiiII', 40, w_, h_, 1, 8, 0, len(pix), 2835, 2835, 256, 0) + pal + pix
with open(os.path.join(out, 'grey.bmp'), 'wb') as f:
    f.write(bmp)
dcmtk('img2dcm', '-i', 'BMP', os.path.join(out, 'grey.bmp'), os.path.join(out, 'd-img2dcm-bmp.dcm'))
os.remove(os.path.join(out, 'grey.bmp'))
note('d-img2dcm-bmp.dcm', 'img2dcm from a BMP (secondary capture)')
# JPEG 2000 by OpenJPEG (the encoder the proxy tests already use)
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'proxy', 'encode_j2k.py')
subprocess.run([sys.executable, here, os.path.join(out, 'q-33x65.dcm'), os.path.join(out, 'd-odd-j2k.dcm')], check=True, capture_output=True)
dcmtk('dcmodify', '-nb', '-gin', os.path.join(out, 'd-odd-j2k.dcm'))
note('d-odd-j2k.dcm', 'JPEG 2000 (OpenJPEG) of a 33x65 image', 'dcmsend')

# How each file is sent: in its own transfer syntax (encapsulated by dcmsend, which never decompresses;
# Implicit VR offered alone, else DCMTK would convert it to Explicit VR with UN for what it cannot type).
IMPLICIT = '1.2.840.10008.1.2'
DEFLATED = '1.2.840.10008.1.2.1.99'
NATIVE = {IMPLICIT, '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', DEFLATED}
for name, entry in manifest.items():
    try:
        d = pydicom.dcmread(os.path.join(out, name), stop_before_pixels=True, force=True)
        ts = str(d.file_meta.get('TransferSyntaxUID', '')) if 'file_meta' in dir(d) else ''
    except Exception:
        ts, d = '', Dataset()
    entry['ts'] = ts
    entry['uid'] = str(d.get('SOPInstanceUID', '')) if ts or entry['send'] == 'dataset' else ''
    if entry['send'] == 'dataset':
        continue
    # Deflated too: storescu would inflate it; dcmsend -dn sends it deflated for the proxy to refuse.
    entry['send'] = 'dcmsend' if ts and ts not in NATIVE or ts == DEFLATED else 'implicit' if ts == IMPLICIT else 'storescu'
# A data set without meta header: its Part 10 twin is what the arrived copy is compared with.
for name in [n for n, e in manifest.items() if e['send'] == 'dataset']:
    d = pydicom.dcmread(os.path.join(out, name), force=True)
    d.file_meta = FileMetaDataset()
    d.file_meta.MediaStorageSOPClassUID = d.SOPClassUID
    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
    d.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if d.is_implicit_VR else ExplicitVRLittleEndian
    twin = name[:-4] + '.part10'
    d.save_as(os.path.join(out, twin), write_like_original=False)
    manifest[name]['reference'] = twin

with open(os.path.join(out, 'manifest.json'), 'w') as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
print(len(manifest))
