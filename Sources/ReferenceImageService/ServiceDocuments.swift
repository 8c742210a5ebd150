/// The documents compiled into the binary (SwiftPM `embedInCode` resources, so the executable needs
/// no bundle beside it): the page served at `/` and the OpenAPI description served at `/openapi.json`.
public enum ServiceDocuments {
    /// `Resources/page.html`: plain HTML, CSS and JavaScript, no external resource.
    public static var page: [UInt8] { PackageResources.page_html }
    /// `Resources/openapi.json` (also at `docs/openapi/serve.json`): every route, parameter and status.
    public static var openAPI: [UInt8] { PackageResources.openapi_json }
}
