#!/usr/bin/env python3
"""The anchor of benchmarks/serve-load.sh: upload validation the way teams write it today, Pillow
behind FastAPI (run with `uvicorn serve_anchor:app --workers 2`).

Same routes and the same judgement as `klingkit serve`: POST /v1/check (raw body) answers the
violations of Kling's upload rules (JPEG/PNG by content, <= 10 MiB, sides >= 300 px, ratio within
1:2.5..2.5:1, <= 100 Mpx, the whole stream decodes); POST /v1/prepare applies the EXIF orientation,
pads the ratio into the band, enlarges a short side under 300 px, shrinks to fit 10 MiB and answers
the JPEG/PNG. Refusals are JSON {code, rule, message} with 413/415/422 like the service.
"""
import io

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image, ImageOps

MAX_BODY = 25 << 20
MAX_BYTES = 10_485_760
MIN_SIDE = 300
MAX_ASPECT = 2.5
MAX_PIXELS = 100_000_000
Image.MAX_IMAGE_PIXELS = None  # judged below from the header, as the service does

app = FastAPI()


def refuse(status, code, rule, message):
    return JSONResponse({"code": code, "rule": rule, "message": message}, status_code=status)


async def body_of(request: Request):
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_BODY:
        return None, refuse(413, "payload-too-large", "max-body-bytes", f"{declared} bytes is more than {MAX_BODY}")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BODY:
            return None, refuse(413, "payload-too-large", "max-body-bytes", f"more than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks), None


def judge(data: bytes):
    violations, width, height, fmt = [], None, None, None
    if len(data) > MAX_BYTES:
        violations.append({"rule": "file-size", "message": f"{len(data)} bytes is more than {MAX_BYTES}"})
    try:
        image = Image.open(io.BytesIO(data))
        fmt = image.format
    except Exception as error:
        return {"valid": False, "format": None, "width": None, "height": None, "bytes": len(data),
                "violations": [{"rule": "unsupported-format", "message": str(error)}] + violations}, None
    width, height = image.size
    if fmt not in ("JPEG", "PNG"):
        violations.insert(0, {"rule": "unsupported-format", "message": f"{fmt} is not JPEG or PNG"})
    if width * height > MAX_PIXELS:
        violations.append({"rule": "too-many-pixels", "message": f"{width}x{height}"})
    if width < MIN_SIDE or height < MIN_SIDE:
        violations.append({"rule": "min-dimension", "message": f"{width}x{height} is below {MIN_SIDE} px"})
    if max(width / height, height / width) > MAX_ASPECT:
        violations.append({"rule": "aspect-ratio", "message": f"{width}x{height} is outside 1:2.5..2.5:1"})
    decoded = None
    if width * height <= MAX_PIXELS:
        try:
            image.load()  # the whole stream decodes
            decoded = image
        except Exception as error:
            violations.append({"rule": "corrupt", "message": str(error)})
    return {"valid": not violations, "format": fmt and fmt.lower(), "width": width, "height": height,
            "bytes": len(data), "violations": violations}, decoded


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}


@app.post("/v1/check")
async def check(request: Request):
    data, refusal = await body_of(request)
    if refusal:
        return refusal
    report, _ = judge(data)
    if any(v["rule"] == "too-many-pixels" for v in report["violations"]):
        return refuse(422, "unprocessable-image", "too-many-pixels", "too many pixels; not decoded")
    return report


@app.post("/v1/prepare")
async def prepare(request: Request):
    data, refusal = await body_of(request)
    if refusal:
        return refusal
    report, image = judge(data)
    rules = {v["rule"] for v in report["violations"]}
    if "too-many-pixels" in rules:
        return refuse(422, "unprocessable-image", "too-many-pixels", "too many pixels; not decoded")
    if image is None:
        if report["format"] is None:
            return refuse(415, "unsupported-image", "unsupported-format", "not an image")
        return refuse(422, "unprocessable-image", "corrupt", "does not decode")
    if report["valid"]:
        return Response(data, media_type="image/" + report["format"])
    image = ImageOps.exif_transpose(image)
    width, height = image.size
    if width / height > MAX_ASPECT:
        height = int(-(-width // MAX_ASPECT))
    elif height / width > MAX_ASPECT:
        width = int(-(-height // MAX_ASPECT))
    if (width, height) != image.size:
        canvas = Image.new(image.mode if image.mode in ("RGB", "RGBA", "L") else "RGB", (width, height), "white")
        canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
        image = canvas
    short = min(image.size)
    if short < MIN_SIDE:
        scale = MIN_SIDE / short
        image = image.resize((max(MIN_SIDE, round(image.width * scale)), max(MIN_SIDE, round(image.height * scale))), Image.LANCZOS)
    fmt = "PNG" if report["format"] == "png" and image.mode in ("RGBA", "LA") else "JPEG"
    if fmt == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    while True:
        out = io.BytesIO()
        image.save(out, fmt, quality=90)
        if out.tell() <= MAX_BYTES or min(image.size) <= MIN_SIDE:
            break
        image = image.resize((int(image.width * 0.8), int(image.height * 0.8)), Image.LANCZOS)
        fmt = "JPEG"
        if image.mode != "RGB":
            image = image.convert("RGB")
    return Response(out.getvalue(), media_type="image/" + fmt.lower())
