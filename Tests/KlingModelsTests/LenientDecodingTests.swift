import Foundation
import KlingModels
import Testing

@Suite("Lenient decoding and the answer head")
struct LenientDecodingTests {
    let decoder = JSONDecoder()

    func head(_ json: String) throws -> AnswerHead { try decoder.decode(AnswerHead.self, from: Data(json.utf8)) }

    @Test("the business code reads from an integer, an integral number or a decimal string, and is nil otherwise")
    func codes() throws {
        #expect(try head(#"{"code":1303}"#).code == .concurrencyLimit)
        #expect(try head(#"{"code":"1201"}"#).code == .invalidParameter)
        #expect(try head(#"{"code":" 1102 "}"#).code == .resourcePackExhausted)
        #expect(try head(#"{"code":5000.0}"#).code == .internalError)
        #expect(try head(#"{"code":1.5}"#).code == nil)
        #expect(try head(#"{"code":"abc"}"#).code == nil)
        #expect(try head(#"{"message":"no code"}"#).code == nil)
        #expect(try head(#"{"code":null,"message":null,"request_id":null}"#).message == nil)
    }

    @Test("CometAPI's error envelope is recognised, its code kept as a string")
    func cometEnvelope() throws {
        let a = try head(#"{"error":{"message":"task_not_exist","type":"invalid_request_error","code":"task_not_exist"}}"#)
        #expect(a.error?.code == CometAPIError.taskNotExistCode && a.code == nil)
        let b = try head(#"{"error":{"message":"busy","code":1303}}"#)
        #expect(b.error?.code == "1303" && b.error?.type == nil)
        #expect(try head(#"{"code":0,"message":"SUCCEED","request_id":"r1"}"#).error == nil)
        #expect(throws: DecodingError.self) { try head("[1,2]") }
        #expect(throws: DecodingError.self) { try head("<html>") }
    }

    @Test("numbers as strings and strings as numbers, for the task members relays send either way")
    func numbersAndStrings() throws {
        let task = try decoder.decode(TaskObject.self, from: Data(#"{"task_id":12345,"created_at":"1700000000000","updated_at":1700000000001,"final_unit_deduction":2,"task_result":{"images":[{"index":"1","url":"u"}]}}"#.utf8))
        #expect(task.taskID == "12345" && task.createdAt == 1_700_000_000_000 && task.updatedAt == 1_700_000_000_001)
        #expect(task.finalUnitDeduction == "2" && task.images.first?.index == 1)
        #expect(throws: DecodingError.self) { try decoder.decode(TaskObject.self, from: Data(#"{"created_at":"soon"}"#.utf8)) }
    }

    @Test("status compares case-insensitively and keeps unknown values")
    func statusCase() throws {
        let statuses = try decoder.decode([TaskStatus].self, from: Data(#"["SUCCEED","Processing","failed","archived"]"#.utf8))
        #expect(statuses == [.succeed, .processing, .failed, .unknown("archived")])
        #expect(statuses.map(\.isTerminal) == [true, false, true, false])
    }

    @Test("Int64.max and 2^53 + 1 stay exact through the request decoder and the encoder")
    func bigIntegers() throws {
        let body = Data(#"{"prompt":"p","element_list":[{"element_id":9007199254740993},{"element_id":9223372036854775807}]}"#.utf8)
        let (request, violations) = RequestRules.decodeGeneration(body)
        #expect(violations.isEmpty)
        #expect(request?.elementList?.map(\.elementID) == [9_007_199_254_740_993, .max])
        let text = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        #expect(text.contains("9007199254740993") && text.contains("9223372036854775807"))
        // One past Int64.max is no integer id: a type violation, not a silently rounded value.
        let over = RequestRules.decodeGeneration(Data(#"{"prompt":"p","element_list":[{"element_id":9223372036854775808}]}"#.utf8))
        #expect(over.violations.map(\.field) == ["element_list[0].element_id"] && over.violations[0].rule == .type)
    }

    @Test("a body that is not JSON, or not an object, is one body violation")
    func bodies() {
        let broken = RequestRules.decodeGeneration(Data(#"{"prompt":"#.utf8))
        #expect(broken.request == nil && broken.violations.map(\.rule) == [.body])
        #expect(broken.violations[0].message.hasPrefix("Request body is not valid JSON"))
        let array = RequestRules.decodeGeneration(Data("[1]".utf8))
        #expect(array.violations.map(\.message) == ["body: must be a JSON object, got array"])
        #expect(RequestRules.decodeGeneration(Data(#""text""#.utf8)).violations.map(\.message) == ["body: must be a JSON object, got string"])
    }

    @Test("nulls count as absent, in the body and inside watermark_info")
    func nulls() {
        let (request, violations) = RequestRules.decodeGeneration(Data(#"{"prompt":"p","n":null,"image":null,"watermark_info":{"enabled":null}}"#.utf8))
        #expect(violations.isEmpty && request?.n == nil && request?.image == nil)
    }

    @Test("the CometAPI generations route reads subject_image_list as the legacy multi-image request")
    func legacyRoute() {
        let body = Data(#"{"subject_image_list":[{"subject_image":"QUJD"},{"subject_image":"REVG"}],"scence_image":"U0NO"}"#.utf8)
        let (request, violations) = RequestRules.decodeCreate(body, route: .generation(acceptsLegacyMultiImage: true))
        guard case .multiImage(let multi, let legacy)? = request else { Issue.record("not multi-image"); return }
        #expect(legacy && violations.isEmpty && multi.sceneImage == "U0NO")
        let native = RequestRules.decodeCreate(body, route: .generation(acceptsLegacyMultiImage: false))
        guard case .generation? = native.request else { Issue.record("not a generation"); return }
        #expect(native.violations.map(\.field) == ["prompt"])
    }
}

@Suite("Answer layouts")
struct LayoutTests {
    func text(_ task: TaskObject, _ layout: TaskObjectLayout) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(LaidOutTask(task, layout: layout)), as: UTF8.self)
    }

    let task = TaskObject(taskID: "t1", taskStatus: .succeed, taskStatusMessage: "", taskInfo: TaskInfo(externalTaskID: "e1"),
                          createdAt: 1, updatedAt: 2, finalUnitDeduction: "1", watermarkInfo: WatermarkInfo(enabled: false),
                          taskResult: TaskResult(images: [ResultImage(index: 0, url: "http://h/0.png")]))

    @Test("each layout writes its members, absent ones as null where the vendor does")
    func members() throws {
        #expect(try text(task, .full) == #"{"created_at":1,"final_unit_deduction":"1","task_id":"t1","task_info":{"external_task_id":"e1"},"task_result":{"images":[{"index":0,"url":"http://h/0.png"}]},"task_status":"succeed","task_status_msg":"","updated_at":2,"watermark_info":{"enabled":false}}"#)
        #expect(try text(task, .nativeCreate) == #"{"created_at":1,"task_id":"t1","task_info":{"external_task_id":"e1"},"task_status":"succeed","updated_at":2}"#)
        let fresh = TaskObject(taskID: "t2", taskStatus: .submitted, taskInfo: TaskInfo(), createdAt: 5, updatedAt: 5)
        #expect(try text(fresh, .cometCreate) == #"{"created_at":5,"task_id":"t2","task_info":{"external_task_id":null},"task_result":null,"task_status":"submitted","task_status_msg":null,"updated_at":5}"#)
    }

    @Test("the envelope writes code, message, request_id and data, and decodes back")
    func envelope() throws {
        let envelope = Envelope(code: .success, message: "SUCCEED", requestID: "r", data: LaidOutTask(task, layout: .nativeCreate))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(envelope)
        #expect(String(decoding: data, as: UTF8.self).hasPrefix(#"{"code":0,"data":{"created_at":1,"task_id":"t1""#))
        #expect(String(decoding: data, as: UTF8.self).hasSuffix(#""message":"SUCCEED","request_id":"r"}"#))
        let back = try JSONDecoder().decode(Envelope<TaskObject>.self, from: data)
        #expect(back.data?.taskID == "t1" && back.data?.externalTaskID == "e1")
    }
}

@Suite("JWT")
struct JWTTests {
    @Test("sign then verify round-trips the claims; iss, exp, nbf are written in that order")
    func roundTrip() throws {
        let claims = JWTClaims(accessKey: "AK", now: 1_700_000_000)
        let token = KlingJWT.sign(claims: claims, secretKey: "SK")
        #expect(try KlingJWT.verify(Substring(token), secretKey: Array("SK".utf8)) == claims)
        let payload = token.split(separator: ".")[1]
        #expect(KlingJWT.base64URL(Array(#"{"iss":"AK","exp":1700001800,"nbf":1699999995}"#.utf8)) == payload)
        #expect(JWTClaims(iss: "a\"b/c", exp: 1, nbf: 0).compactJSON == #"{"iss":"a\"b/c","exp":1,"nbf":0}"#)
    }

    @Test("each check fails with its own code", arguments: [
        ("a.b", JWTError.Code.malformed), ("a.b.c", .header),
    ])
    func structure(token: String, code: JWTError.Code) {
        #expect(throws: JWTError.self) { try KlingJWT.verify(Substring(token), secretKey: [1]) }
        do { _ = try KlingJWT.verify(Substring(token), secretKey: [1]) } catch { #expect(error.code == code) }
    }

    @Test("a wrong key, a wrong algorithm and a bad claim are told apart")
    func failures() {
        let good = KlingJWT.sign(claims: JWTClaims(iss: "a", exp: 2, nbf: 1), secretKey: "k")
        func code(_ token: String, key: String = "k") -> JWTError.Code? {
            do { _ = try KlingJWT.verify(Substring(token), secretKey: Array(key.utf8)); return nil } catch { return error.code }
        }
        #expect(code(good) == nil)
        #expect(code(good, key: "other") == .signatureMismatch)
        #expect(code(KlingJWT.sign(claims: JWTClaims(iss: "a", exp: 2, nbf: 1), secretKey: "k", header: JWTHeader(alg: "none"))) == .algorithm)
        let parts = good.split(separator: ".")
        let payload = KlingJWT.base64URL(Array(#"{"iss":"a","exp":"soon","nbf":1}"#.utf8))
        let input = parts[0] + "." + payload
        let forged = input + "." + KlingJWT.signature(signingInput: String(input), secretKey: Array("k".utf8))
        do { _ = try KlingJWT.verify(Substring(forged), secretKey: Array("k".utf8)); Issue.record("verified") } catch {
            #expect(error.code == .claim && error.field == "exp")
        }
    }
}
