import Foundation
import KlingModels
import Testing

@Suite("KlingModels wire types")
struct WireTypeTests {
    let decoder = JSONDecoder()

    @Test("envelope code decodes from an integer or a string")
    func codeIntOrString() throws {
        let a = try decoder.decode(Envelope<TaskObject>.self, from: Data(#"{"code":0,"message":"SUCCEED","request_id":"r","data":{"task_id":"t"}}"#.utf8))
        #expect(a.code == .success && a.isSuccess && a.data?.taskID == "t" && a.requestID == "r")
        let b = try decoder.decode(Envelope<TaskObject>.self, from: Data(#"{"code":"1303","message":"busy"}"#.utf8))
        #expect(b.code == .concurrencyLimit && b.data == nil)
        #expect(throws: DecodingError.self) {
            try decoder.decode(Envelope<TaskObject>.self, from: Data(#"{"code":"abc"}"#.utf8))
        }
    }

    @Test("every data field is optional and nulls decode")
    func nullsDecode() throws {
        let body = #"{"code":0,"data":{"created_at":123,"task_id":"x","task_info":{"external_task_id":null},"task_result":null,"task_status":"submitted","task_status_msg":null,"updated_at":"456"},"message":"ok"}"#
        let task = try #require(try decoder.decode(Envelope<TaskObject>.self, from: Data(body.utf8)).data)
        #expect(task.createdAt == 123 && task.updatedAt == 456 && task.taskStatus == .submitted)
        #expect(task.externalTaskID == nil && task.taskResult == nil && task.images.isEmpty)
        let empty = try decoder.decode(TaskObject.self, from: Data("{}".utf8))
        #expect(empty == TaskObject())
    }

    @Test("task status keeps unknown values and knows terminal ones")
    func status() throws {
        let statuses = try decoder.decode([TaskStatus].self, from: Data(#"["submitted","processing","succeed","failed","queued"]"#.utf8))
        #expect(statuses == [.submitted, .processing, .succeed, .failed, .unknown("queued")])
        #expect(statuses.map(\.isTerminal) == [false, false, true, true, false])
        #expect(String(decoding: try JSONEncoder().encode(TaskStatus.unknown("queued")), as: UTF8.self) == #""queued""#)
    }

    @Test("element ids above 2^53 survive decode and encode exactly")
    func elementIDs() throws {
        let big: Int64 = 9_007_199_254_740_993   // 2^53 + 1: not representable as Double
        let request = ImageGenerationRequest(prompt: "p", elementList: [ElementReference(elementID: big), ElementReference(elementID: .max)])
        let data = try JSONEncoder().encode(request)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("9007199254740993") && text.contains("9223372036854775807"))
        let back = try decoder.decode(ImageGenerationRequest.self, from: data)
        #expect(back.elementList?.map(\.elementID) == [big, .max])
        let (parsed, violations) = RequestRules.decodeGeneration(data)
        #expect(violations.isEmpty)
        #expect(parsed?.elementList?.first?.elementID == big)
    }

    @Test("unset fields are not encoded")
    func unsetFieldsOmitted() throws {
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ImageGenerationRequest(modelName: .klingV3, prompt: "a cat"))) as? [String: Any]
        #expect(Set(json?.keys ?? [:].keys) == ["model_name", "prompt"])
    }

    @Test("multi-image accepts scene_image and scence_image, encodes scene_image")
    func sceneSpellings() throws {
        let old = try decoder.decode(MultiImageRequest.self, from: Data(#"{"subject_image_list":[{"subject_image":"QUJD"}],"scence_image":"U0NO"}"#.utf8))
        #expect(old.sceneImage == "U0NO")
        let new = try decoder.decode(MultiImageRequest.self, from: Data(#"{"scene_image":"TkVX"}"#.utf8))
        #expect(new.sceneImage == "TkVX")
        let text = String(decoding: try JSONEncoder().encode(old), as: UTF8.self)
        #expect(text.contains("\"scene_image\"") && !text.contains("scence_image"))
    }

    @Test("CometAPI error envelope decodes with a string or numeric code")
    func cometError() throws {
        let a = try decoder.decode(CometAPIErrorEnvelope.self, from: Data(#"{"error":{"message":"task_not_exist","type":"x","code":"task_not_exist"}}"#.utf8))
        #expect(a.error.code == CometAPIError.taskNotExistCode)
        let b = try decoder.decode(CometAPIErrorEnvelope.self, from: Data(#"{"error":{"message":"m","code":401}}"#.utf8))
        #expect(b.error.code == "401" && b.error.type == nil)
    }

    @Test("callback bodies decode bare or enveloped")
    func callbacks() throws {
        #expect(try TaskObject.decodeCallback(Data(#"{"task_id":"a","task_status":"succeed"}"#.utf8)).taskID == "a")
        #expect(try TaskObject.decodeCallback(Data(#"{"code":0,"data":{"task_id":"b"}}"#.utf8)).taskID == "b")
    }
}

@Suite("Business codes")
struct BusinessCodeTests {
    @Test("HTTP status, retryability and token codes follow the vendor's table")
    func table() {
        let expected: [(Int, Int, Bool)] = [
            (1000, 401, false), (1001, 401, false), (1002, 401, false), (1003, 401, false), (1004, 401, false),
            (1100, 429, false), (1101, 429, false), (1102, 429, false), (1103, 403, false), (1200, 400, false),
            (1201, 400, false), (1202, 404, false), (1203, 404, false), (1300, 400, false), (1301, 400, false),
            (1302, 429, true), (1303, 429, true), (1304, 429, false), (5000, 500, true), (5001, 503, true), (5002, 504, true),
        ]
        for (raw, status, retryable) in expected {
            let code = BusinessCode(raw)
            #expect(code.httpStatus == status, "\(raw)")
            #expect(code.isRetryable == retryable, "\(raw)")
            #expect(code.isDocumented)
        }
        #expect(BusinessCode.tokenExpired.needsFreshToken && BusinessCode.tokenNotYetValid.needsFreshToken)
        #expect(!BusinessCode.authenticationFailed.needsFreshToken)
        #expect(BusinessCode.concurrencyLimit.retry == .withBackoff(minimumDelay: 1))
        #expect(BusinessCode(4242).retry == .never && !BusinessCode(4242).isDocumented)
    }
}

@Suite("Request rules")
struct RequestRulesTests {
    func violations(_ json: String) throws -> [FieldViolation] {
        RequestRules.decodeGeneration(Data(json.utf8)).violations
    }
    func fields(_ json: String) throws -> Set<String> { Set(try violations(json).map(\.field)) }

    @Test("a minimal text request is valid")
    func minimal() throws {
        #expect(try violations(#"{"prompt":"a red fox"}"#).isEmpty)
        #expect(try violations(#"{"model_name":"kling-v3","prompt":"x","n":9,"aspect_ratio":"21:9","resolution":"2k","watermark_info":{"enabled":true},"callback_url":"http://127.0.0.1:9/x","external_task_id":"e"}"#).isEmpty)
    }

    @Test("types are checked field by field, all at once")
    func types() throws {
        let found = try violations(#"{"prompt":5,"n":"3","image_fidelity":"high","element_list":{},"watermark_info":{"enabled":"yes"},"callback_url":1}"#)
        #expect(Set(found.map(\.field)) == ["prompt", "n", "image_fidelity", "element_list", "watermark_info.enabled", "callback_url"])
        #expect(found.allSatisfy { $0.rule == .type })
        #expect(found.first { $0.field == "n" }?.message == "n: must be an integer, got string")
        #expect(try fields(#"{"prompt":"p","n":2.5}"#) == ["n"])
        #expect(try fields(#"{"prompt":"p","element_list":[{"element_id":1.5}]}"#) == ["element_list[0].element_id"])
        #expect(try fields(#"{"prompt":"p","element_list":[{}]}"#) == ["element_list[0].element_id"])
        #expect(try violations("[1]").first?.rule == .body)
    }

    @Test("ranges and enums")
    func rangesAndEnums() throws {
        #expect(try fields(#"{"prompt":"p","n":0}"#) == ["n"])
        #expect(try fields(#"{"prompt":"p","n":10}"#) == ["n"])
        #expect(try fields(#"{"prompt":"p","model_name":"kling-v9"}"#) == ["model_name"])
        #expect(try fields(#"{"prompt":"p","aspect_ratio":"5:4"}"#) == ["aspect_ratio"])
        #expect(try fields(#"{"prompt":"p","resolution":"4k"}"#) == ["resolution"])
        #expect(try fields(#"{"prompt":"p","model_name":"kling-v1","aspect_ratio":"21:9"}"#) == ["aspect_ratio"])
        #expect(try fields(#"{"prompt":"p","image":"QUJD","image_reference":"body"}"#) == ["image_reference"])
        #expect(try fields(#"{"prompt":"p","model_name":"kling-v1","image":"QUJD","image_fidelity":1.5}"#) == ["image_fidelity"])
        #expect(try fields(#"{"prompt":"p","callback_url":"ftp://x/y"}"#) == ["callback_url"])
        let long = String(repeating: "é", count: 2501)
        let v = try violations(#"{"prompt":"\#(long)"}"#)
        #expect(v.map(\.rule) == [.length] && v[0].message.contains("2501"))
        #expect(try violations(#"{"prompt":"\#(String(repeating: "a", count: 2500))"}"#).isEmpty)
        #expect(try fields(#"{}"#) == ["prompt"])
        #expect(try fields(#"{"prompt":""}"#) == ["prompt"])
    }

    @Test("cross-field rules")
    func crossField() throws {
        // negative prompt with an image
        #expect(try fields(#"{"prompt":"p","model_name":"kling-v3","image":"QUJD","negative_prompt":"blur"}"#) == ["negative_prompt"])
        #expect(try violations(#"{"prompt":"p","model_name":"kling-v3","image":"QUJD","negative_prompt":""}"#).isEmpty)
        // image_reference without an image
        #expect(try fields(#"{"prompt":"p","image_reference":"subject"}"#) == ["image_reference"])
        // kling-v1-5 with an image needs image_reference
        let v15 = try violations(#"{"prompt":"p","model_name":"kling-v1-5","image":"QUJD"}"#)
        #expect(v15.map(\.field) == ["image_reference"] && v15[0].rule == .required)
        // fidelity fields on models that do not take them
        #expect(try fields(#"{"prompt":"p","model_name":"kling-v3","image":"QUJD","image_fidelity":0.5}"#) == ["image_fidelity"])
        #expect(try fields(#"{"prompt":"p","model_name":"kling-v1","image":"QUJD","human_fidelity":0.5}"#) == ["human_fidelity"])
        #expect(try fields(#"{"prompt":"p","model_name":"kling-v1-5","image":"QUJD","image_reference":"face","human_fidelity":0.5}"#) == ["human_fidelity"])
        #expect(try violations(#"{"prompt":"p","model_name":"kling-v1-5","image":"QUJD","image_reference":"subject","human_fidelity":0.5,"image_fidelity":0.2}"#).isEmpty)
        // omitted model is kling-v1: takes image_fidelity, no 21:9
        #expect(try violations(#"{"prompt":"p","image":"QUJD","image_fidelity":0.3}"#).isEmpty)
        // elements + images > 10
        let ten = (1...10).map { #"{"element_id":\#($0)}"# }.joined(separator: ",")
        #expect(try violations(#"{"prompt":"p","element_list":[\#(ten)]}"#).isEmpty)
        #expect(try fields(#"{"prompt":"p","image":"QUJD","model_name":"kling-v3","element_list":[\#(ten)]}"#) == ["element_list"])
    }

    @Test("image strings: data: prefix, line breaks, alphabet, URLs")
    func imageStrings() {
        let prefixed = RequestRules.checkImageString("data:image/png;base64,iVBORw0KGgo=", field: "image")
        #expect(prefixed?.rule == .dataURLPrefix)
        #expect(prefixed?.message.contains("data:") == true && prefixed?.message.hasPrefix("image:") == true)
        #expect(RequestRules.checkImageString("QUJD\nREVG", field: "image")?.rule == .imageEncoding)
        #expect(RequestRules.checkImageString("QUJD*", field: "image")?.message.contains("'*'") == true)
        #expect(RequestRules.checkImageString("QUJDR", field: "image")?.rule == .imageEncoding)
        #expect(RequestRules.checkImageString("QQ==", field: "image") == nil)
        #expect(RequestRules.checkImageString("https://example.com/dog.png", field: "image") == nil)
        #expect(RequestRules.checkImageString("https://", field: "image")?.rule == .url)
    }

    @Test("multi-image rules: subject count, spellings, model")
    func multiImage() throws {
        func check(_ json: String, legacy: Bool = false) throws -> [FieldViolation] {
            RequestRules.decodeMultiImage(Data(json.utf8), legacyRoute: legacy).violations
        }
        let one = #"{"subject_image_list":[{"subject_image":"QUJD"}]}"#
        #expect(try check(one).isEmpty)
        #expect(try check(one, legacy: true).map(\.field) == ["subject_image_list"])
        let five = "[" + Array(repeating: #"{"subject_image":"QUJD"}"#, count: 5).joined(separator: ",") + "]"
        #expect(try check(#"{"subject_image_list":\#(five)}"#).map(\.rule) == [.count])
        #expect(try check(#"{"prompt":"p"}"#).map(\.field) == ["subject_image_list"])
        #expect(try check(#"{"subject_image_list":[{"subject_image":""}]}"#).map(\.field) == ["subject_image_list[0].subject_image"])
        #expect(try check(#"{"subject_image_list":[{"subject_image":"QUJD"}],"model_name":"kling-v3"}"#).map(\.field) == ["model_name"])
        #expect(try check(#"{"subject_image_list":[{"subject_image":"QUJD"}],"scene_image":"QUJD","scence_image":"REVG"}"#).map(\.rule) == [.conflict])
        #expect(try check(#"{"subject_image_list":[{"subject_image":"QUJD"}],"style_image":"data:image/png;base64,QUJD"}"#).map(\.rule) == [.dataURLPrefix])
    }

    @Test("page bounds")
    func pages() {
        #expect(RequestRules.validatePage(pageNum: nil, pageSize: nil).query == PageQuery(pageNum: 1, pageSize: 30))
        #expect(RequestRules.validatePage(pageNum: "1000", pageSize: "500").query == PageQuery(pageNum: 1000, pageSize: 500))
        for (num, size) in [("0", "1"), ("1001", "1"), ("1", "0"), ("1", "501"), ("x", "1")] {
            #expect(RequestRules.validatePage(pageNum: num, pageSize: size).query == nil, "\(num) \(size)")
        }
        #expect(RequestRules.validatePage(pageNum: "0", pageSize: "501").violations.count == 2)
    }

    @Test("result sizes follow aspect ratio × resolution")
    func sizes() {
        #expect(AspectRatio.r1x1.pixelSize(at: .oneK)! == (1024, 1024))
        #expect(AspectRatio.r1x1.pixelSize(at: .twoK)! == (2048, 2048))
        #expect(AspectRatio.r16x9.pixelSize(at: .oneK)! == (1368, 768))
        #expect(AspectRatio.r9x16.pixelSize(at: .oneK)! == (768, 1368))
        for ratio in AspectRatio.all {
            let (w, h) = ratio.pixelSize(at: .oneK)!
            let (a, b) = ratio.terms!
            #expect(abs(Double(w) / Double(h) - Double(a) / Double(b)) < 0.02, "\(ratio)")
            #expect(w % 8 == 0 && h % 8 == 0)
        }
    }
}
