# Authenticode signing for the Windows build, called by the Tauri bundler for every binary
# and installer it produces (tauri.conf.json, bundle > windows > signCommand; %1 is the file).
# The certificate comes from the environment, never from the repository:
#   WINDOWS_CERTIFICATE           the code-signing certificate, a base64-encoded .pfx
#   WINDOWS_CERTIFICATE_PASSWORD  its password
#   WINDOWS_TIMESTAMP_URL         an RFC 3161 timestamp server of your certificate's issuer
# Without a certificate the build fails, so an unsigned Windows build is never shipped by
# mistake; set AIC_MCP_UNSIGNED=1 to build unsigned on purpose (local testing only).
param([Parameter(Mandatory = $true)][string]$File)
$ErrorActionPreference = 'Stop'

if (-not $env:WINDOWS_CERTIFICATE) {
    if ($env:AIC_MCP_UNSIGNED -eq '1') {
        Write-Warning "sign.ps1: AIC_MCP_UNSIGNED=1, leaving $File unsigned"
        exit 0
    }
    Write-Error "sign.ps1: WINDOWS_CERTIFICATE is not set (base64 .pfx); see the README's Release section"
    exit 2
}
if (-not $env:WINDOWS_TIMESTAMP_URL) {
    Write-Error "sign.ps1: WINDOWS_TIMESTAMP_URL is not set (your certificate issuer's RFC 3161 server)"
    exit 2
}

$pfx = Join-Path ([System.IO.Path]::GetTempPath()) ("aic-mcp-sign-" + [guid]::NewGuid() + ".pfx")
try {
    [System.IO.File]::WriteAllBytes($pfx, [System.Convert]::FromBase64String($env:WINDOWS_CERTIFICATE))
    $signtool = (Get-Command signtool.exe -ErrorAction SilentlyContinue).Source
    if (-not $signtool) {
        $kits = Join-Path ${env:ProgramFiles(x86)} 'Windows Kits\10\bin'
        $signtool = (Get-ChildItem $kits -Recurse -Filter signtool.exe -ErrorAction SilentlyContinue |
            Where-Object { $_.FullName -match '\\x64\\' } | Sort-Object FullName -Descending |
            Select-Object -First 1).FullName
    }
    if (-not $signtool) { Write-Error "sign.ps1: signtool.exe not found (install the Windows SDK)"; exit 2 }
    & $signtool sign /fd sha256 /td sha256 /tr $env:WINDOWS_TIMESTAMP_URL `
        /f $pfx /p $env:WINDOWS_CERTIFICATE_PASSWORD $File
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}
finally {
    Remove-Item -Force -ErrorAction SilentlyContinue $pfx
}
