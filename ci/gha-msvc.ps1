# ci/gha-msvc.ps1 — the Windows MSVC leg of GitHub Actions: dependencies
# from vcpkg (the runner's own checkout, $env:VCPKG_INSTALLATION_ROOT), then
# meson setup / compile / test in the Visual Studio environment (--vsenv).
#
# How each dependency is found (nothing is hand-written):
#  - APR: vcpkg installs APR's CMake package (no apr-1.pc on Windows);
#    meson.build asks CMake for it, given -Dcmake_prefix_path.
#  - libsodium: vcpkg writes libsodium.pc; pkg-config is vcpkg's pkgconf,
#    named in PKG_CONFIG, because the runner's PATH has Strawberry Perl's
#    pkg-config first (a Perl script that finds the wrong .pc files or none).
#  - CUnit: vcpkg installs only libcunit.lib and headers; tests/meson.build
#    finds the library on LIB / INCLUDE, which vcvars (--vsenv) extends.
# werror stays off for MSVC until a run has shown it clean (meson.build).
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '..')

$triplet = if ($env:VCPKG_TRIPLET) { $env:VCPKG_TRIPLET } else { 'x64-windows' }
$vcpkg = $env:VCPKG_INSTALLATION_ROOT
& "$vcpkg\vcpkg.exe" install --triplet $triplet apr cunit libsodium pkgconf
if ($LASTEXITCODE -ne 0) { throw "vcpkg install failed ($LASTEXITCODE)" }

$inst = "$vcpkg\installed\$triplet"
$env:PKG_CONFIG = "$inst\tools\pkgconf\pkgconf.exe"
$env:PKG_CONFIG_PATH = "$inst\lib\pkgconfig"
$env:INCLUDE = "$inst\include;$env:INCLUDE"
$env:LIB = "$inst\lib;$env:LIB"
# The DLLs of APR, libsodium and CUnit, for the tests and examples.
$env:PATH = "$inst\bin;$env:PATH"
if (-not (Test-Path $env:PKG_CONFIG)) { throw "vcpkg's pkgconf is not at $env:PKG_CONFIG" }

$cmakePrefix = $inst -replace '\\', '/'
# -Dredis=disabled: no redis-server on Windows runners for its tests.
meson setup build --vsenv -Dbuildtype=debugoptimized -Dwerror=false -Dredis=disabled "-Dcmake_prefix_path=$cmakePrefix"
if ($LASTEXITCODE -ne 0) { throw "meson setup failed" }
meson compile -C build
if ($LASTEXITCODE -ne 0) { throw "meson compile failed" }
meson test -C build --print-errorlogs
$rc = $LASTEXITCODE
python ci/testlog_summary.py build/meson-logs/testlog.txt
exit $rc
