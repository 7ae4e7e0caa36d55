global using System.Runtime.CompilerServices;
global using ILGPU;
global using ILGPU.Runtime;
